import { command } from '../command.js';

export default command({
  meta: { name: 'sysroot', description: 'A bootc composefs system: deployments, GC of the repository and the system containers-storage, podman access' },
  subCommands: {
    status: () => import('./sysroot-status.js').then((m) => m.default),
    gc: () => import('./sysroot-gc.js').then((m) => m.default),
    'podman-config': () => import('./sysroot-podman-config.js').then((m) => m.default),
  },
});
