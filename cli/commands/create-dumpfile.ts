import { createDumpfile } from '../../src/image/index.js';
import { command } from '../command.js';
import { HASH_ALG, PROPAGATE_USR_TO_ROOT, TREE_PATH } from '../tree-args.js';
import { writeStdout } from '../write.js';

export default command({
  meta: { name: 'create-dumpfile', description: 'Print the composefs dumpfile of a directory, as `cfsctl create-dumpfile` does' },
  args: {
    path: TREE_PATH,
    hashAlg: HASH_ALG,
    propagateUsrToRoot: PROPAGATE_USR_TO_ROOT,
  },
  async run({ args }) {
    await writeStdout(await createDumpfile(args.path, { hashAlg: args.hashAlg, propagateUsrToRoot: args.propagateUsrToRoot }));
  },
});
