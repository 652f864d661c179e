/**
 * One layer blob from a source into its layer splitstream, in one pass:
 * the blob's bytes are checked against its size and digest as they come
 * (here, on the main thread, which reads the source), then decompressed
 * (gzip, zstd, zstd:chunked, or none), split and hashed on a worker thread
 * (layer-work.ts): the tar's sha256 must be the diff_id, and each content
 * stored as an object comes back with its object ID. This thread only
 * moves bytes and writes the objects and the stream, the same stream
 * `oci import-layer` writes for the same tar. Nothing is named until all
 * of that held. When the worker fails first (corrupt gzip, a damaged
 * tar), the rest of the blob is read to tell whether the blob was wrong,
 * which is then what is reported.
 */
import { IntegrityError } from '../../common/index.js';
import { nativeWriteTarget, ObjectWriter, type Repository } from '../repository/index.js';
import { VerifiedBlob, type BlobDescriptor, type ImageSource } from '../source/index.js';
import { checkDigest, layerContentId } from './identifiers.js';
import { LayerStreamBuilder } from './layer-stream.js';
import { LayerThreads } from './layer-thread.js';
import { RECORD, STORE_OUTCOMES, type LayerBatch } from './layer-work.js';
import { ImportStats } from './stats.js';

export interface BlobLayerOptions {
  readonly maxExpansion?: number;
  /** Compressed bytes read so far, as they are read. */
  readonly onBytes?: (bytes: number) => void;
  /** Aborts the import between chunks (another layer failed). */
  readonly signal?: AbortSignal;
  /** The worker threads to use (shared by a pull's layers); default: some for this call alone. */
  readonly threads?: LayerThreads;
}

async function* abortable(source: AsyncIterable<Uint8Array>, signal: AbortSignal | undefined): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    signal?.throwIfAborted();
    yield chunk;
  }
}

/** Writes a worker's batches: inline bytes and objects into the layer stream, in order. */
class BatchWriter {
  /** The large object whose pieces are coming. */
  #object: ObjectWriter | undefined;

  constructor(
    private readonly repo: Repository,
    private readonly builder: LayerStreamBuilder,
    /** Whether the worker computes the object IDs (an insecure repository). */
    private readonly digested: boolean,
  ) {}

  async write({ bytes, records, ids }: LayerBatch): Promise<void> {
    let next = 0;
    // Object records pair with `ids` by position; '' where the worker did not compute one.
    const id = (): string | undefined => ids[next++] || undefined;
    for (let r = 0; r + 2 < records.length; r += 3) {
      const kind = records[r];
      const at = records[r + 1] ?? 0;
      const length = records[r + 2] ?? 0;
      // Views of the batch's memory, which is never reused: the objects are stored from it in place.
      const view = (): Uint8Array => bytes.subarray(at, at + length);
      switch (kind) {
        case RECORD.inline:
          await this.builder.inline(view());
          break;
        case RECORD.object:
          await this.builder.external(length, this.repo.objects.ensureObject(view(), id()));
          break;
        case RECORD.stored: {
          // Stored by the worker already: [kind, outcome, size].
          const stored = id();
          const method = STORE_OUTCOMES[at];
          if (stored === undefined || method === undefined) throw new Error('layer worker reported a stored object without its ID or outcome');
          await this.builder.external(length, Promise.resolve({ id: stored, size: length, method }));
          break;
        }
        case RECORD.largeBegin:
          this.#object = await ObjectWriter.create(this.repo.objects, { digested: this.digested });
          break;
        case RECORD.largeData:
          await this.#large().write(view());
          break;
        case RECORD.largeEnd: {
          const object = this.#large();
          this.#object = undefined;
          // Sealing and linking run on while the next members are written.
          await this.builder.external(length, object.finish(id()));
          break;
        }
        default:
          throw new Error(`layer worker sent an unknown record kind ${String(kind)}`);
      }
    }
  }

  #large(): ObjectWriter {
    if (!this.#object) throw new Error('layer worker sent object data outside an object');
    return this.#object;
  }

  async abort(): Promise<void> {
    await this.#object?.abort();
    this.#object = undefined;
  }
}

export async function importBlobLayer(
  repo: Repository,
  source: ImageSource,
  descriptor: BlobDescriptor,
  diffId: string,
  options: BlobLayerOptions = {},
): Promise<{ streamId: string; stats: ImportStats }> {
  const input = `${source.name}: layer ${diffId}`;
  checkDigest(diffId, 'diff_id');
  if (!diffId.startsWith('sha256:')) throw new IntegrityError(input, `diff_id ${diffId} is not a sha256 digest`);
  const contentId = layerContentId(diffId);
  const stats = new ImportStats();
  stats.layers = 1;
  const existing = await repo.streams.has(contentId);
  if (existing !== undefined) {
    stats.layersAlreadyPresent = 1;
    return { streamId: existing, stats };
  }
  const blob = new VerifiedBlob(abortable(source.blob(descriptor), options.signal), descriptor, source.name, options.onBytes);
  const threads = options.threads ?? new LayerThreads(1);
  const digested = !repo.objects.secure;
  const builder = new LayerStreamBuilder(repo, stats);
  const writer = new BatchWriter(repo, builder, digested);
  try {
    // A blob whose digest is the diff_id is the tar itself: the blob's check
    // is the diff_id check (one sha256 pass, not two), and it must not be
    // compressed (its decompressed tar could not have that digest).
    const uncompressedBlob = descriptor.digest === diffId;
    await threads.run(
      {
        input,
        diffId,
        compressedSize: descriptor.size,
        ...(options.maxExpansion !== undefined ? { maxExpansion: options.maxExpansion } : {}),
        hashTar: !uncompressedBlob,
        uncompressedBlob,
        ...(digested ? { digestAlg: repo.objects.hashAlg } : {}),
        // With the addon the worker stores the small objects itself, confined as here (objects/ by its descriptor).
        ...(repo.objects.durability.native ? { writeTo: await nativeWriteTarget(repo.objects) } : {}),
      },
      blob,
      (batch) => writer.write(batch),
    );
    const streamId = await builder.commit(contentId);
    return { streamId, stats };
  } catch (err) {
    await writer.abort();
    await builder.abort();
    if (options.signal?.aborted) throw err;
    throw (await blob.settle()) ?? err;
  } finally {
    await blob.close();
    if (!options.threads) await threads.close();
  }
}
