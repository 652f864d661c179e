import { writeOciDumpfile } from '../../src/oci/index.js';
import { command } from '../command.js';
import { withRepository } from '../repo.js';
import { XATTRS, xattrMode } from '../tree-args.js';
import { writeStdout } from '../write.js';

export default command({
  meta: { name: 'dump', description: "Print the composefs dumpfile of a stored image's rootfs, as `cfsctl oci dump` does" },
  args: {
    image: { type: 'positional', required: true, valueHint: 'REF|@DIGEST', description: 'tag or @manifest-digest' },
    bootable: { type: 'boolean', description: 'apply the boot transformation first' },
    xattrs: XATTRS,
  },
  async run({ args }) {
    const options = { bootable: args.bootable === true, xattrs: xattrMode(args.xattrs) };
    await withRepository(args, {}, (repo) => writeOciDumpfile(repo, args.image, writeStdout, options));
    return 0;
  },
});
