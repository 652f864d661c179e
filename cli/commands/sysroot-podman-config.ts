import { UsageError } from '../../common/index.js';
import { BOOTED_STORAGE_PATH, describePodmanConfig, DROPIN_DIR, GLOBAL_WARNING, writeDropin } from '../../src/sysroot/index.js';
import { command } from '../command.js';

export default command({
  meta: { name: 'podman-config', description: 'How podman sees the system\'s images: print both ways (--print), or write the storage.conf drop-in (--write)' },
  args: {
    print: { type: 'boolean', description: 'show the per-command option and the drop-in (the default)' },
    write: { type: 'boolean', description: `write the drop-in into ${DROPIN_DIR} atomically` },
    store: { type: 'string', valueHint: 'PATH', default: BOOTED_STORAGE_PATH, description: 'the store as podman is to see it (default /usr/lib/bootc/storage)' },
    dropinDir: { type: 'string', valueHint: 'DIR', default: DROPIN_DIR, description: 'where --write puts the drop-in' },
  },
  async run({ args }) {
    if (args.print && args.write) throw new UsageError('choose one of --print and --write');
    if (args.write) {
      const path = await writeDropin(args.dropinDir, args.store);
      process.stdout.write(`wrote ${path}\n`);
      process.stderr.write(`note: ${GLOBAL_WARNING}\n`);
      return 0;
    }
    process.stdout.write(describePodmanConfig(args.store));
    return 0;
  },
});
