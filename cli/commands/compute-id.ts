import { computeImageId } from '../../src/image/index.js';
import { command } from '../command.js';
import { BOOTABLE, HASH_ALG, PROPAGATE_USR_TO_ROOT, TREE_PATH, XATTRS, treeErofsVersion, treeHashAlg, xattrMode } from '../tree-args.js';
import { writeStdout } from '../write.js';

export default command({
  meta: {
    name: 'compute-id',
    description: 'Print the composefs image ID of a directory, as `cfsctl compute-id` does (EROFS format --erofs-version, default 1)',
  },
  args: {
    path: TREE_PATH,
    hashAlg: HASH_ALG,
    propagateUsrToRoot: PROPAGATE_USR_TO_ROOT,
    xattrs: XATTRS,
    bootable: BOOTABLE,
  },
  async run({ args }) {
    const id = await computeImageId(args.path, {
      hashAlg: await treeHashAlg(args.hashAlg, args),
      propagateUsrToRoot: args.propagateUsrToRoot,
      xattrs: xattrMode(args.xattrs),
      bootable: args.bootable === true,
      erofsVersion: treeErofsVersion(args),
    });
    await writeStdout(`${id.hex}\n`);
  },
});
