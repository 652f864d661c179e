import { computeOciImageId } from '../../src/oci/index.js';
import { command } from '../command.js';
import { withRepository } from '../repo.js';
import { XATTRS, xattrMode } from '../tree-args.js';
import { writeStdout } from '../write.js';

export default command({
  meta: {
    name: 'compute-id',
    description: "Print the composefs image ID of a stored image's rootfs in the repository's EROFS format, as `cfsctl oci compute-id` does",
  },
  args: {
    image: { type: 'positional', required: true, valueHint: 'REF|@DIGEST', description: 'tag or @manifest-digest' },
    bootable: { type: 'boolean', description: 'apply the boot transformation (empty /boot and /sysroot, SELinux labels from the image)' },
    xattrs: XATTRS,
  },
  async run({ args }) {
    const options = { bootable: args.bootable === true, xattrs: xattrMode(args.xattrs) };
    const id = await withRepository(args, {}, (repo) => computeOciImageId(repo, args.image, options));
    await writeStdout(`${id.hex}\n`);
    return 0;
  },
});
