/** Options every `sysroot` command shares: where the sysroot is and how to tell the booted and staged deployments. */
import type { BootStateOptions } from '../src/sysroot/index.js';
import { DEFAULT_SYSROOT } from '../src/sysroot/index.js';

export const sysrootArgs = {
  sysroot: { type: 'string', valueHint: 'DIR', default: DEFAULT_SYSROOT, description: 'the physical root: composefs/ repository, state/deploy/ (default /sysroot)' },
  kernelCmdline: { type: 'string', valueHint: 'FILE', description: 'kernel command line naming the booted deployment (default /proc/cmdline for /sysroot)' },
  stagedFile: { type: 'string', valueHint: 'FILE', description: 'bootc\'s staged-deployment record (default /run/composefs/staged-deployment for /sysroot)' },
} as const;

export function bootState(args: { kernelCmdline?: string; stagedFile?: string }): BootStateOptions {
  return {
    ...(args.kernelCmdline !== undefined ? { kernelCmdline: args.kernelCmdline } : {}),
    ...(args.stagedFile !== undefined ? { stagedFile: args.stagedFile } : {}),
  };
}
