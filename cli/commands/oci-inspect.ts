import { UsageError } from '../../common/index.js';
import { imageRefName, imageVariant, openImage } from '../../src/oci/index.js';
import { command } from '../command.js';
import { printJson } from '../output.js';
import { withRepository } from '../repo.js';

export default command({
  meta: { name: 'inspect', description: 'Show an image as `cfsctl oci inspect` does: manifest and config as stored, its composefs images (NAME or @DIGEST)' },
  args: {
    image: { type: 'positional', required: true, valueHint: 'REF|@DIGEST', description: 'tag or @manifest-digest' },
    manifest: { type: 'boolean', description: 'print the manifest JSON exactly as stored' },
    config: { type: 'boolean', description: 'print the config JSON exactly as stored' },
  },
  async run({ args }) {
    if (args.manifest && args.config) throw new UsageError('choose one of --manifest and --config');
    const { image, erofsVersion } = await withRepository(args, {}, async (repo) => ({ image: await openImage(repo, args.image), erofsVersion: repo.erofsVersion }));
    if (args.manifest || args.config) {
      process.stdout.write(args.manifest ? image.manifestJson : image.configJson);
      process.stdout.write('\n');
      return 0;
    }
    // cfsctl's OciInspectReply: the documents as stored, as strings.
    const out: Record<string, unknown> = {
      manifest: image.manifestJson.toString('utf8'),
      config: image.configJson.toString('utf8'),
      referrers: [],
      composefs_erofs: image.configRefs.get(imageRefName(imageVariant(erofsVersion, false))) ?? null,
      composefs_boot_erofs: image.configRefs.get(imageRefName(imageVariant(erofsVersion, true))) ?? null,
    };
    printJson(out);
    return 0;
  },
});
