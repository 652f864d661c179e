import { UsageError } from '../../src/errors.js';
import { checkDigest, layerContentId } from '../../src/oci/index.js';
import { CONTENT_TYPES } from '../../src/splitstream/index.js';
import { command } from '../command.js';
import { withRepository } from '../repo.js';

export default command({
  meta: { name: 'layer', description: "Write a layer's original tar to stdout, byte for byte (its sha256 is the diff_id)" },
  args: {
    diffId: { type: 'positional', required: true, valueHint: 'DIFF_ID', description: 'sha256:… of the layer' },
  },
  async run({ args }) {
    checkDigest(args.diffId, 'diff_id');
    if (process.stdout.isTTY) throw new UsageError('refusing to write a tar to a terminal; redirect stdout to a file or pipe');
    await withRepository({}, (repo) => repo.streams.cat(layerContentId(args.diffId), process.stdout, { contentType: CONTENT_TYPES.ociLayer }));
    return 0;
  },
});
