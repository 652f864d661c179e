import { UsageError } from '../../common/index.js';
import { tagImage } from '../../src/oci/index.js';
import { command } from '../command.js';
import { withRepository } from '../repo.js';

export default command({
  meta: { name: 'tag', description: 'Tag an image (by @DIGEST) with a name' },
  args: {
    digest: { type: 'positional', required: true, valueHint: '@DIGEST', description: 'manifest digest, with a leading @' },
    name: { type: 'positional', required: true, valueHint: 'NAME', description: 'the tag' },
  },
  async run({ args }) {
    if (!args.digest.startsWith('@')) throw new UsageError(`"${args.digest}": give the manifest digest as @sha256:…`);
    await withRepository(args, { write: true }, (repo) => tagImage(repo, args.digest.slice(1), args.name));
    process.stdout.write(`Tagged ${args.digest.slice(1)} as ${args.name}\n`);
    return 0;
  },
});
