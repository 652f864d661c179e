import { command } from '../command.js';
import { printJson } from '../output.js';
import { withRepository } from '../repo.js';
import { printTable } from '../table.js';

export default command({
  meta: { name: 'images', description: 'List the named images (images/refs/…) of the repository, as `cfsctl images` does' },
  args: {
    json: { type: 'boolean', description: 'print {"images": [{"name", "digest"}, …]} as cfsctl does' },
    trunc: { type: 'boolean', default: true, description: 'shorten digests to 12 characters (--no-trunc: whole digests)' },
  },
  async run({ args }) {
    const refs = await withRepository(args, {}, (repo) => repo.images.listRefs());
    if (args.json) {
      printJson({ images: refs.map((r) => ({ name: r.name, digest: r.id })) });
      return 0;
    }
    if (refs.length === 0) {
      process.stdout.write('No images found\n');
      return 0;
    }
    printTable(['NAME', 'DIGEST'], refs.map((r) => [r.name, args.trunc ? r.id.slice(0, 12) : r.id]));
    return 0;
  },
});
