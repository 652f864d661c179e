import { listImages } from '../../src/oci/index.js';
import { command } from '../command.js';
import { printJson } from '../output.js';
import { withRepository } from '../repo.js';
import { printTable } from '../table.js';

export default command({
  meta: { name: 'images', description: 'List the tagged OCI images in the repository' },
  args: { json: { type: 'boolean', description: 'print {"images": […]} with cfsctl\'s fields' } },
  async run({ args }) {
    const images = await withRepository(args, {}, (repo) => listImages(repo));
    if (args.json) {
      // cfsctl's ListImagesReply; cfskit stores no referrers.
      printJson({
        images: images.map((i) => ({
          name: i.name,
          manifest_digest: i.manifestDigest,
          is_container: i.isContainer,
          architecture: i.architecture,
          os: i.os,
          created: i.created ?? null,
          layer_count: i.layerCount,
          referrer_count: 0,
        })),
      });
      return 0;
    }
    if (images.length === 0) {
      process.stdout.write('No images found\n');
      return 0;
    }
    const rows = images.map((i) => [i.name, i.manifestDigest.replace(/^sha256:/, '').slice(0, 12), i.architecture || 'artifact', String(i.layerCount), '0']);
    printTable(['NAME', 'DIGEST', 'ARCH', 'LAYERS', 'REFS'], rows);
    return 0;
  },
});
