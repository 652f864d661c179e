import { ContainersStorage, shortId, type StoredLayer } from '../../src/cstor/index.js';
import { command } from '../command.js';
import { printJson } from '../output.js';
import { storageArgs, storageOptions } from '../storage-args.js';

const args = {
  image: { type: 'positional', required: false, valueHint: 'IMAGE', description: "only this image's layers, base first" },
  ...storageArgs,
  json: { type: 'boolean', description: 'print JSON' },
} as const;

const short = (value: string | undefined): string => (value ? shortId(value.replace(/^sha256:/, '')).slice(0, 12) : '-');

export default command({
  meta: { name: 'layers', description: 'List the layers in containers-storage, or those of one image' },
  args,
  async run({ args: parsed }) {
    const storage = await ContainersStorage.open(storageOptions(parsed));
    let layers: StoredLayer[];
    if (parsed.image) layers = await storage.imageLayers(await storage.findImage(parsed.image));
    else layers = await storage.layers();
    if (parsed.json) {
      printJson(
        layers.map((l) => ({
          id: l.id,
          parent: l.parent ?? null,
          names: l.names,
          diffDigest: l.diffDigest ?? null,
          diffSize: l.diffSize ?? null,
          compressedDigest: l.compressedDigest ?? null,
          compressedSize: l.compressedSize ?? null,
          created: l.created ?? null,
          incomplete: l.incomplete,
          store: l.store.root,
          diffDir: l.diffDir,
          tarSplit: l.tarSplitPath,
        })),
      );
      return 0;
    }
    const lines = ['LAYER ID      PARENT        DIFF DIGEST          SIZE'];
    for (const l of layers) {
      const digest = l.diffDigest ? `${l.diffDigest.split(':')[0]}:${short(l.diffDigest)}` : '-';
      lines.push(`${short(l.id)}  ${short(l.parent).padEnd(12)}  ${digest.padEnd(19)}  ${l.diffSize ?? '-'}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  },
});
