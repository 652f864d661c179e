import { writeLayerTar, ContainersStorage } from '../../src/cstor/index.js';
import { UsageError } from '../../common/index.js';
import { command } from '../command.js';
import { storageArgs, storageOptions } from '../storage-args.js';

const args = {
  layer: { type: 'positional', required: true, valueHint: 'LAYER_ID', description: 'layer ID or unique prefix' },
  ...storageArgs,
  verifyDigest: { type: 'boolean', default: true, description: "check the tar's sha256 against the layer's diff digest (--no-verify-digest to skip)" },
} as const;

export default command({
  meta: { name: 'layer-tar', description: "Write a layer's original tar to stdout, rebuilt from containers-storage as `tar-split asm` does" },
  args,
  async run({ args: parsed }) {
    if (process.stdout.isTTY) throw new UsageError('refusing to write a tar to a terminal; redirect stdout to a file or pipe');
    const storage = await ContainersStorage.open(storageOptions(parsed));
    const layer = await storage.findLayer(parsed.layer);
    await writeLayerTar(layer, process.stdout, { verifyDigest: parsed.verifyDigest });
    return 0;
  },
});
