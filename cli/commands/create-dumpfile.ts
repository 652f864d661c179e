import { createDumpfile } from '../../src/image/compute.js';
import { command } from '../command.js';
import { writeStdout } from '../write.js';

export default command({
  meta: { name: 'create-dumpfile', description: 'Print the composefs dumpfile of a directory, as `cfsctl create-dumpfile` does' },
  args: {
    path: { type: 'positional', required: true, valueHint: 'PATH', description: 'the directory (a container root unless --no-propagate-usr-to-root)' },
    hashAlg: { type: 'enum', options: ['sha256', 'sha512'], default: 'sha512', description: 'fs-verity hash algorithm' },
    propagateUsrToRoot: {
      type: 'boolean',
      default: true,
      description: 'give / the metadata of /usr, empty /run, keep only security.capability xattrs (--no-propagate-usr-to-root: as found)',
    },
  },
  async run({ args }) {
    await writeStdout(await createDumpfile(args.path, { hashAlg: args.hashAlg, propagateUsrToRoot: args.propagateUsrToRoot }));
  },
});
