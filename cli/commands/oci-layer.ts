import { UsageError } from '../../common/index.js';
import { checkDigest, layerContentId, layerInfo, writeLayerDumpfile } from '../../src/oci/index.js';
import { CONTENT_TYPES } from '../../src/splitstream/index.js';
import { command } from '../command.js';
import { printJson } from '../output.js';
import { withRepository } from '../repo.js';
import { writeStdout } from '../write.js';

export default command({
  meta: { name: 'layer', description: "Write a layer's original tar to stdout, byte for byte (its sha256 is the diff_id); or list it" },
  args: {
    diffId: { type: 'positional', required: true, valueHint: 'DIFF_ID', description: 'sha256:… of the layer' },
    json: { type: 'boolean', description: 'print metadata as JSON (entries, sizes), as `cfsctl oci layer --json` does' },
    dumpfile: { type: 'boolean', description: 'print one composefs dumpfile line per member, as `cfsctl oci layer --dumpfile` does' },
  },
  async run({ args }) {
    checkDigest(args.diffId, 'diff_id');
    if (args.json && args.dumpfile) throw new UsageError('choose one of --json and --dumpfile');
    if (args.json) {
      printJson(await withRepository(args, {}, (repo) => layerInfo(repo, args.diffId)));
      return 0;
    }
    if (args.dumpfile) {
      await withRepository(args, {}, (repo) => writeLayerDumpfile(repo, args.diffId, writeStdout));
      return 0;
    }
    if (process.stdout.isTTY) throw new UsageError('refusing to write a tar to a terminal; redirect stdout, or use --json or --dumpfile');
    await withRepository(args, {}, (repo) => repo.streams.cat(layerContentId(args.diffId), process.stdout, { contentType: CONTENT_TYPES.ociLayer }));
    return 0;
  },
});
