import { computeImageId } from '../../src/image/compute.js';
import { command } from '../command.js';
import { writeStdout } from '../write.js';

export default command({
  meta: { name: 'compute-id', description: 'Print the composefs image ID of a directory, as `cfsctl compute-id` does' },
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
    const id = await computeImageId(args.path, { hashAlg: args.hashAlg, propagateUsrToRoot: args.propagateUsrToRoot });
    await writeStdout(`${id.hex}\n`);
  },
});
