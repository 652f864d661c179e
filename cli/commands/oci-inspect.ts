import { UsageError } from '../../common/index.js';
import { openImage } from '../../src/oci/index.js';
import { command } from '../command.js';
import { printJson } from '../output.js';
import { withRepository } from '../repo.js';

export default command({
  meta: { name: 'inspect', description: 'Show an image: manifest and config (NAME or @DIGEST)' },
  args: {
    image: { type: 'positional', required: true, valueHint: 'REF|@DIGEST', description: 'tag or @manifest-digest' },
    manifest: { type: 'boolean', description: 'print the manifest JSON exactly as stored' },
    config: { type: 'boolean', description: 'print the config JSON exactly as stored' },
  },
  async run({ args }) {
    if (args.manifest && args.config) throw new UsageError('choose one of --manifest and --config');
    const image = await withRepository(args, {}, (repo) => openImage(repo, args.image));
    if (args.manifest || args.config) {
      process.stdout.write(args.manifest ? image.manifestJson : image.configJson);
      process.stdout.write('\n');
      return 0;
    }
    const out: Record<string, unknown> = {
      manifest: JSON.parse(image.manifestJson.toString('utf8')) as unknown,
      config: JSON.parse(image.configJson.toString('utf8')) as unknown,
      referrers: [],
    };
    const erofs = image.configRefs.get('composefs.image');
    if (erofs !== undefined) out.composefs_erofs = erofs;
    const boot = image.configRefs.get('composefs.image.boot');
    if (boot !== undefined) out.composefs_boot_erofs = boot;
    printJson(out);
    return 0;
  },
});
