import { computeImageId } from '../../src/image/index.js';
import { command } from '../command.js';
import { HASH_ALG, PROPAGATE_USR_TO_ROOT, TREE_PATH } from '../tree-args.js';
import { writeStdout } from '../write.js';

export default command({
  meta: { name: 'compute-id', description: 'Print the composefs image ID of a directory, as `cfsctl compute-id` does' },
  args: {
    path: TREE_PATH,
    hashAlg: HASH_ALG,
    propagateUsrToRoot: PROPAGATE_USR_TO_ROOT,
  },
  async run({ args }) {
    const id = await computeImageId(args.path, { hashAlg: args.hashAlg, propagateUsrToRoot: args.propagateUsrToRoot });
    await writeStdout(`${id.hex}\n`);
  },
});
