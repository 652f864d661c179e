import { untagImage } from '../../src/oci/index.js';
import { command } from '../command.js';
import { withRepository } from '../repo.js';

export default command({
  meta: { name: 'untag', description: 'Remove a tag (the image stays until garbage collection)' },
  args: { name: { type: 'positional', required: true, valueHint: 'NAME', description: 'the tag' } },
  async run({ args }) {
    await withRepository(args, { write: true }, (repo) => untagImage(repo, args.name));
    process.stdout.write(`Removed tag ${args.name}\n`);
    return 0;
  },
});
