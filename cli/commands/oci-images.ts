import { listImages } from '../../src/oci/index.js';
import { command } from '../command.js';
import { printJson } from '../output.js';
import { withRepository } from '../repo.js';

export default command({
  meta: { name: 'images', description: 'List the tagged OCI images in the repository' },
  args: { json: { type: 'boolean', description: 'print JSON' } },
  async run({ args }) {
    const images = await withRepository(args, {}, (repo) => listImages(repo));
    if (args.json) {
      printJson(images);
      return 0;
    }
    if (images.length === 0) {
      process.stdout.write('No images found\n');
      return 0;
    }
    const rows = [['NAME', 'DIGEST', 'ARCH', 'LAYERS'], ...images.map((i) => [i.name, i.manifestDigest.replace(/^sha256:/, '').slice(0, 12), i.architecture || 'artifact', String(i.layerCount)])];
    const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
    for (const r of rows) process.stdout.write(`${r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd()}\n`);
    return 0;
  },
});
