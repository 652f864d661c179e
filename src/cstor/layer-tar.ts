/**
 * A layer's original tar, rebuilt from containers-storage as `tar-split
 * asm` does: segments verbatim, file contents from `diff/`, each checked
 * against its size and CRC-64 as it streams, and the whole against the
 * layer's diff digest (its OCI diff_id) at the end.
 */
import { createHash } from 'node:crypto';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IntegrityError } from '../../common/index.js';
import { readLayerEntries } from './layer-entries.js';
import { shortId, type StoredLayer } from './storage.js';

const BATCH = 256 << 10;

export interface LayerTarOptions {
  /** Check the sha256 of the output against the layer's diff digest (default true). */
  readonly verifyDigest?: boolean;
}

export interface LayerTarResult {
  readonly bytes: number;
  /** `sha256:<hex>` of the tar, when verified. */
  readonly digest: string | undefined;
}

/**
 * The tar's bytes, in order. The digest check happens after the last chunk:
 * a consumer that already wrote earlier chunks somewhere must treat an
 * error as making that output invalid.
 */
export async function* layerTarChunks(
  layer: StoredLayer,
  options: LayerTarOptions = {},
  result: { bytes: number; digest: string | undefined } = { bytes: 0, digest: undefined },
): AsyncGenerator<Uint8Array> {
  const want = layer.diffDigest;
  const hash = (options.verifyDigest ?? true) && want?.startsWith('sha256:') ? createHash('sha256') : undefined;
  // Headers and small files are gathered into larger chunks: passing tens
  // of thousands of sub-kilobyte pieces down a stream (and as as many
  // write calls) costs more than copying them once.
  let batch = Buffer.allocUnsafe(BATCH);
  let filled = 0;
  const flush = (): Buffer => {
    const out = batch.subarray(0, filled);
    batch = Buffer.allocUnsafe(BATCH);
    filled = 0;
    return out;
  };
  for await (const entry of readLayerEntries(layer, { verify: false })) {
    const chunks = entry.kind === 'segment' ? [entry.bytes] : entry.chunks();
    for await (const chunk of chunks) {
      if (chunk.length === 0) continue;
      hash?.update(chunk);
      result.bytes += chunk.length;
      if (chunk.length <= BATCH - filled) {
        batch.set(chunk, filled);
        filled += chunk.length;
        continue;
      }
      if (filled > 0) yield flush();
      if (chunk.length < BATCH / 2) {
        batch.set(chunk, 0);
        filled = chunk.length;
      } else {
        yield chunk;
      }
    }
  }
  if (filled > 0) yield flush();
  if (hash) {
    const digest = `sha256:${hash.digest('hex')}`;
    if (digest !== want) {
      throw new IntegrityError(`layer ${shortId(layer.id)}`, `rebuilt tar has digest ${digest}, layers.json says ${want ?? 'nothing'}`);
    }
    result.digest = digest;
  }
}

/** Writes the layer's tar to `out` (not ending it), with backpressure. */
export async function writeLayerTar(layer: StoredLayer, out: Writable, options: LayerTarOptions = {}): Promise<LayerTarResult> {
  const result = { bytes: 0, digest: undefined as string | undefined };
  await pipeline(Readable.from(layerTarChunks(layer, options, result), { objectMode: false }), out, { end: false });
  return result;
}
