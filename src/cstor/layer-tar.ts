/**
 * A layer's original tar, rebuilt from containers-storage as `tar-split
 * asm` does: segments verbatim, file contents from `diff/`, each checked
 * against its size and CRC-64 as it streams, and the whole against the
 * layer's diff digest (its OCI diff_id) at the end.
 */
import { createHash } from 'node:crypto';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { IntegrityError } from '../errors.js';
import { readChecked, readLayerEntries } from './layer-entries.js';
import { shortId, type StoredLayer } from './storage.js';

export interface LayerTarOptions {
  /** Check the sha256 of the output against the layer's diff digest (default true). */
  readonly verifyDigest?: boolean;
}

export interface LayerTarResult {
  readonly bytes: number;
  /** `sha256:<hex>` of the tar. */
  readonly digest: string;
}

/**
 * The tar's bytes, in order. The digest check happens after the last chunk:
 * a consumer that already wrote earlier chunks somewhere must treat an
 * error as making that output invalid.
 */
export async function* layerTarChunks(layer: StoredLayer, options: LayerTarOptions = {}, result?: { bytes: number; digest: string }): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const entry of readLayerEntries(layer, { verify: false })) {
    if (entry.kind === 'segment') {
      if (entry.bytes.length === 0) continue;
      hash.update(entry.bytes);
      bytes += entry.bytes.length;
      yield entry.bytes;
      continue;
    }
    for await (const chunk of readChecked(entry)) {
      hash.update(chunk);
      bytes += chunk.length;
      yield chunk;
    }
  }
  const digest = `sha256:${hash.digest('hex')}`;
  const want = layer.diffDigest;
  if ((options.verifyDigest ?? true) && want?.startsWith('sha256:') && want !== digest) {
    throw new IntegrityError(`layer ${shortId(layer.id)}`, `rebuilt tar has digest ${digest}, layers.json says ${want}`);
  }
  if (result) {
    result.bytes = bytes;
    result.digest = digest;
  }
}

/** Writes the layer's tar to `out` (not ending it), with backpressure. */
export async function writeLayerTar(layer: StoredLayer, out: Writable, options: LayerTarOptions = {}): Promise<LayerTarResult> {
  const result = { bytes: 0, digest: '' };
  await pipeline(Readable.from(layerTarChunks(layer, options, result), { objectMode: false }), out, { end: false });
  return result;
}
