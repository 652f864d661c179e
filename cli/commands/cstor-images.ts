import { ContainersStorage, shortId } from '../../src/cstor/index.js';
import { command } from '../command.js';
import { EXIT_FAILURE, errorJson, printJson, reportError } from '../output.js';
import { storageArgs, storageOptions } from '../storage-args.js';

const args = {
  ...storageArgs,
  json: { type: 'boolean', description: 'print JSON' },
} as const;

export default command({
  meta: { name: 'images', description: 'List the images in containers-storage' },
  args,
  async run({ args: parsed }) {
    const storage = await ContainersStorage.open(storageOptions(parsed));
    const images = await storage.images();
    let failed = false;
    const rows: Record<string, unknown>[] = [];
    for (const image of images) {
      const row: Record<string, unknown> = {
        id: image.id,
        names: image.names,
        digests: image.digests,
        created: image.created ?? null,
        store: image.store.root,
      };
      try {
        const layers = await storage.imageLayers(image);
        row.layers = layers.map((l) => ({ id: l.id, diffDigest: l.diffDigest ?? null, diffSize: l.diffSize ?? null }));
      } catch (err) {
        failed = true;
        row.layers = null;
        row.error = errorJson(err);
        if (!parsed.json) reportError('cstor images', err);
      }
      rows.push(row);
    }
    if (parsed.json) {
      printJson(rows);
    } else {
      const multi = storage.stores.length > 1;
      const header = ['IMAGE ID    ', 'LAYERS', 'NAMES', ...(multi ? ['STORE'] : [])];
      const lines = [header.join('  ')];
      for (const row of rows) {
        const count = Array.isArray(row.layers) ? String(row.layers.length) : '?';
        const names = (row.names as string[]).join(', ') || '<none>';
        lines.push([shortId(row.id as string).slice(0, 12), count.padStart(6), names, ...(multi ? [row.store as string] : [])].join('  '));
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    }
    return failed ? EXIT_FAILURE : 0;
  },
});
