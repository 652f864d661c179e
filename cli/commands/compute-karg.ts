import { computeImageId, kernelArgument } from '../../src/image/index.js';
import { command } from '../command.js';
import { PROPAGATE_USR_TO_ROOT, TREE_PATH, treeErofsVersion, treeHashAlg } from '../tree-args.js';
import { writeStdout } from '../write.js';

export default command({
  meta: {
    name: 'compute-karg',
    description:
      'Print the kernel argument naming the boot image of a directory, as `cfsctl compute-karg` does: composefs.digest=v1-<alg>-12:<id> ' +
      '(EROFS format 0 or 1, the default) or composefs=<id> (--erofs-version 2); with cfsctl\'s global --insecure, verity is optional ("?")',
  },
  args: {
    path: TREE_PATH,
    propagateUsrToRoot: PROPAGATE_USR_TO_ROOT,
  },
  async run({ args }) {
    const hashAlg = await treeHashAlg(undefined, args);
    const erofsVersion = treeErofsVersion(args);
    const id = await computeImageId(args.path, { hashAlg, propagateUsrToRoot: args.propagateUsrToRoot, bootable: true, erofsVersion });
    await writeStdout(`${kernelArgument(id, erofsVersion, args.insecure)}\n`);
  },
});
