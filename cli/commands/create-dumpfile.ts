import { createDumpfile } from '../../src/image/index.js';
import { command } from '../command.js';
import { BOOTABLE, HASH_ALG, PROPAGATE_USR_TO_ROOT, TREE_PATH, XATTRS, treeHashAlg, xattrMode } from '../tree-args.js';
import { writeStdout } from '../write.js';

export default command({
  meta: { name: 'create-dumpfile', description: 'Print the composefs dumpfile of a directory, as `cfsctl create-dumpfile` does' },
  args: {
    path: TREE_PATH,
    hashAlg: HASH_ALG,
    propagateUsrToRoot: PROPAGATE_USR_TO_ROOT,
    xattrs: XATTRS,
    bootable: BOOTABLE,
  },
  async run({ args }) {
    const options = {
      hashAlg: await treeHashAlg(args.hashAlg, args),
      propagateUsrToRoot: args.propagateUsrToRoot,
      xattrs: xattrMode(args.xattrs),
      bootable: args.bootable === true,
    };
    await writeStdout(await createDumpfile(args.path, options));
  },
});
