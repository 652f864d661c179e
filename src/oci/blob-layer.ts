/**
 * One layer blob from a source into its layer splitstream, in one pass:
 * the blob's bytes are checked against its size and digest as they come,
 * decompressed (gzip, zstd, zstd:chunked, or none) and split by the same
 * importer `oci import-layer` uses, whose sha256 of the tar must be the
 * diff_id. Nothing is named until all of that held. When the consumer
 * fails first (corrupt gzip, a damaged tar), the rest of the blob is
 * read to tell whether the blob was wrong, which is then what is reported.
 */
import { IntegrityError } from '../../common/index.js';
import { decompressLayer, type Compression } from '../decompress/index.js';
import type { Repository } from '../repository/index.js';
import { VerifiedBlob, type BlobDescriptor, type ImageSource } from '../source/index.js';
import type { ImportStats } from './stats.js';
import { importTarLayer } from './tar-layer.js';

export interface BlobLayerOptions {
  readonly maxExpansion?: number;
  /** Compressed bytes read so far, as they are read. */
  readonly onBytes?: (bytes: number) => void;
  /** Aborts the import between chunks (another layer failed). */
  readonly signal?: AbortSignal;
}

async function* abortable(source: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    signal?.throwIfAborted();
    yield chunk;
  }
}

export async function importBlobLayer(
  repo: Repository,
  source: ImageSource,
  descriptor: BlobDescriptor,
  diffId: string,
  options: BlobLayerOptions = {},
): Promise<{ streamId: string; stats: ImportStats }> {
  const blob = new VerifiedBlob(abortable(source.blob(descriptor), options.signal), descriptor, source.name, options.onBytes);
  const input = `${source.name}: layer ${diffId}`;
  try {
    // A blob whose digest is the diff_id is the tar itself: the blob's check
    // is the diff_id check (one sha256 pass, not two), and it must not be
    // compressed (its decompressed tar could not have that digest).
    const uncompressedBlob = descriptor.digest === diffId;
    const detected = (compression: Compression): void => {
      if (uncompressedBlob && compression !== 'none') throw new IntegrityError(input, `its blob's digest is the diff_id, but the blob is ${compression}-compressed`);
    };
    const tar = decompressLayer(blob, {
      input,
      compressedSize: descriptor.size,
      detected,
      ...(options.maxExpansion !== undefined ? { maxExpansion: options.maxExpansion } : {}),
    });
    const result = await importTarLayer(repo, diffId, tar, input, { sourceVerifies: descriptor.digest });
    return { streamId: result.streamId, stats: result.stats };
  } catch (err) {
    if (options.signal?.aborted) throw err;
    throw (await blob.settle()) ?? err;
  } finally {
    await blob.close();
  }
}
