/**
 * The CPU side of importing one layer blob, as a layer's worker thread runs
 * it: decompress (gzip, zstd or none, bounded against bombs), split the tar,
 * hash the tar for its diff_id and each file content stored as an object for
 * its fs-verity digest (its object ID). What comes out is a list of records
 * in tar order, in batches of at most BATCH_BYTES, for the main thread to
 * write: inline bytes, small objects whole (or, when given a `store`, stored
 * here and reported by ID), large objects in pieces. It reads nothing: the
 * main thread reads the blob.
 */
import { createHash } from 'node:crypto';
import { IntegrityError, type HashAlg } from '../../common/index.js';
import { INLINE_CONTENT_MAX } from '../core/index.js';
import { decompressLayer, type Compression } from '../decompress/index.js';
import { digestBytes, resolveParams } from '../fsverity/index.js';
import { fsverity } from '../core/index.js';
import type { NativeWriteTarget, StoredObject, StoreOutcome } from '../repository/index.js';
import { splitTar } from '../tar/index.js';

/** Contents up to this size are stored whole (tar-layer.ts's SMALL_OBJECT_MAX); larger ones in pieces. */
export const WORK_SMALL_OBJECT_MAX = 256 << 10;
/** A batch's bytes (inline, contents) before it goes to the main thread. */
export const BATCH_BYTES = 1 << 20;
/** Records in one batch at most, whatever their bytes. */
export const BATCH_RECORDS = 1024;

export interface LayerWorkJob {
  /** Names the layer in errors (`<source>: layer <diff_id>`). */
  readonly input: string;
  readonly diffId: string;
  readonly compressedSize: number;
  readonly maxExpansion?: number;
  /** Hash the tar for the diff_id check (not when the blob's own digest is the diff_id). */
  readonly hashTar: boolean;
  /** The blob's digest is the diff_id: it must not be compressed. */
  readonly uncompressedBlob: boolean;
  /** The repository's algorithm when object IDs are computed here (insecure repositories); else undefined. */
  readonly digestAlg?: HashAlg;
  /** Where the worker stores small objects itself through the addon; absent: the main thread stores them. */
  readonly writeTo?: NativeWriteTarget;
}

/**
 * Record kinds; each record is [kind, offset, length] in `LayerBatch.records`,
 * except `stored` (an object already stored by the worker): [kind, outcome
 * (an index into STORE_OUTCOMES), size].
 */
export const RECORD = { inline: 0, object: 1, largeBegin: 2, largeData: 3, largeEnd: 4, stored: 5 } as const;

export const STORE_OUTCOMES: readonly StoreOutcome[] = ['reflinked', 'hardlinked', 'copied', 'written', 'already-present'];

/** Stores a small object's content (read in place until it settles); `id` when computed here. */
export type ObjectStoreFn = (content: Uint8Array, id: string | undefined) => Promise<StoredObject>;

/**
 * One batch: `bytes` holds the inline bytes and contents the records point
 * into; `ids` the object IDs (hex) of `object` and `largeEnd` records in
 * order ('' where not computed here). `largeBegin`'s length is the object's size.
 */
export interface LayerBatch {
  readonly bytes: Uint8Array;
  readonly records: Float64Array;
  readonly ids: string[];
}

/** A batch whose objects may still be being stored (`settleBatch` waits for them). */
export interface PendingBatch {
  readonly bytes: Uint8Array;
  readonly records: number[];
  readonly ids: (string | Promise<StoredObject>)[];
}

/** The batch once its objects are stored: their IDs and outcomes filled in. Rejects with a store's failure. */
export async function settleBatch(pending: PendingBatch): Promise<LayerBatch> {
  const { records } = pending;
  const ids: string[] = [];
  let next = 0;
  for (let r = 0; r < records.length; r += 3) {
    const kind = records[r];
    if (kind !== RECORD.object && kind !== RECORD.largeEnd && kind !== RECORD.stored) continue;
    const entry = pending.ids[next++] ?? '';
    if (typeof entry === 'string') {
      ids.push(entry);
      continue;
    }
    const stored = await entry;
    ids.push(stored.id);
    records[r + 1] = STORE_OUTCOMES.indexOf(stored.method);
  }
  return { bytes: pending.bytes, records: Float64Array.from(records), ids };
}

class BatchBuilder {
  #bytes: Uint8Array = new Uint8Array(BATCH_BYTES);
  #used = 0;
  #records: number[] = [];
  #ids: (string | Promise<StoredObject>)[] = [];

  constructor(
    private readonly emit: (batch: PendingBatch) => Promise<void>,
    private readonly store: ObjectStoreFn | undefined,
  ) {}

  /** Makes room for `n` more bytes, sending what is there if they do not fit. */
  async #room(n: number): Promise<void> {
    if (this.#used + n <= this.#bytes.length && this.#records.length < BATCH_RECORDS * 3) return;
    await this.flush();
    if (n > this.#bytes.length) this.#bytes = new Uint8Array(n);
  }

  async add(kind: number, data: Uint8Array | undefined, length = data?.length ?? 0, id?: string): Promise<void> {
    await this.#room(data?.length ?? 0);
    const at = this.#used;
    if (data) {
      this.#bytes.set(data, at);
      this.#used += data.length;
    }
    const records = this.#records;
    const last = records.length - 3;
    // Adjacent pieces of one kind (inline runs, a large object's data) become one record: one write, not many.
    if ((kind === RECORD.inline || kind === RECORD.largeData) && last >= 0 && records[last] === kind && (records[last + 1] ?? 0) + (records[last + 2] ?? 0) === at) {
      records[last + 2] = (records[last + 2] ?? 0) + length;
      return;
    }
    records.push(kind, at, length);
    // One entry per object record ('' when not computed here), so they pair up by position.
    if (kind === RECORD.largeEnd) this.#ids.push(id ?? '');
  }

  /** Room for a whole content of `size` bytes, filled by the caller in pieces. */
  async reserve(size: number): Promise<{ fill: (piece: Uint8Array, at: number) => void; view: () => Uint8Array; commit: (id?: string) => void }> {
    await this.#room(size);
    const at = this.#used;
    this.#used += size;
    const bytes = this.#bytes;
    return {
      fill: (piece, pos) => bytes.set(piece, at + pos),
      view: () => bytes.subarray(at, at + size),
      commit: (id) => {
        if (this.store) {
          const stored = this.store(bytes.subarray(at, at + size), id);
          // Taken (and its failure reported) by settleBatch, in order.
          stored.catch(() => undefined);
          this.#records.push(RECORD.stored, 0, size);
          this.#ids.push(stored);
          return;
        }
        this.#records.push(RECORD.object, at, size);
        this.#ids.push(id ?? '');
      },
    };
  }

  async flush(): Promise<void> {
    if (this.#records.length === 0) return;
    const batch = { bytes: this.#bytes.subarray(0, this.#used), records: this.#records, ids: this.#ids };
    // Fresh memory for the next batch: this one moves to the main thread.
    this.#bytes = new Uint8Array(BATCH_BYTES);
    this.#used = 0;
    this.#records = [];
    this.#ids = [];
    await this.emit(batch);
  }
}

/** Counts and hashes the bytes as they pass, for the diff_id check. */
async function* hashing(source: AsyncIterable<Uint8Array>, hash: ReturnType<typeof createHash> | undefined): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    hash?.update(chunk);
    yield chunk;
  }
}

/**
 * Runs `job` over the blob's bytes `blob`, handing each batch to `emit`
 * (which may wait: that is the back-pressure); small objects go to `store`
 * when given. Throws the layer's problem
 * (corrupt compression, a bomb, a damaged tar, a diff_id mismatch).
 */
export async function runLayerWork(
  job: LayerWorkJob,
  blob: AsyncIterable<Uint8Array>,
  emit: (batch: PendingBatch) => Promise<void>,
  store?: ObjectStoreFn,
): Promise<void> {
  const { input, diffId } = job;
  const detected = (compression: Compression): void => {
    if (job.uncompressedBlob && compression !== 'none') throw new IntegrityError(input, `its blob's digest is the diff_id, but the blob is ${compression}-compressed`);
  };
  const tar = decompressLayer(blob, {
    input,
    compressedSize: job.compressedSize,
    detected,
    ...(job.maxExpansion !== undefined ? { maxExpansion: job.maxExpansion } : {}),
  });
  const hash = job.hashTar ? createHash('sha256') : undefined;
  const out = new BatchBuilder(emit, store);
  const alg = job.digestAlg;
  const params = alg ? resolveParams({ hashAlg: alg }).core : undefined;
  const hex = (digest: Uint8Array): string => Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('hex');

  // The member whose content is coming: stored whole (small) or in pieces (large).
  let small: Awaited<ReturnType<BatchBuilder['reserve']>> | undefined;
  let large: ReturnType<typeof fsverity.FileHasher.create> | 'unhashed' | undefined;
  let entrySize = 0;
  let remaining = 0;
  try {
    for await (const event of splitTar(hashing(tar, hash), input)) {
      if (event.kind === 'inline') {
        if (event.bytes.length > 0) await out.add(RECORD.inline, event.bytes);
      } else if (event.kind === 'entry') {
        const isFile = event.entry.type === 'file' || event.entry.type === 'contiguous';
        entrySize = remaining = event.entry.size;
        if (isFile && entrySize > WORK_SMALL_OBJECT_MAX) {
          large = params ? fsverity.FileHasher.create(params) : 'unhashed';
          await out.add(RECORD.largeBegin, undefined, entrySize);
        } else if (isFile && entrySize > INLINE_CONTENT_MAX) {
          small = await out.reserve(entrySize);
        }
      } else if (event.kind === 'content') {
        if (small) {
          small.fill(event.bytes, entrySize - remaining);
          remaining -= event.bytes.length;
          if (remaining === 0) {
            small.commit(alg ? hex(digestBytes(small.view(), { hashAlg: alg })) : undefined);
            small = undefined;
          }
        } else if (large) {
          if (large !== 'unhashed') large.update(event.bytes);
          await out.add(RECORD.largeData, event.bytes);
          remaining -= event.bytes.length;
          if (remaining === 0) {
            const id = large !== 'unhashed' ? hex(large.finish()) : undefined;
            if (large !== 'unhashed') large[Symbol.dispose]();
            large = undefined;
            await out.add(RECORD.largeEnd, undefined, entrySize, id);
          }
        } else {
          // Small contents (≤ 64 bytes) and anything not a regular file's: inline.
          await out.add(RECORD.inline, event.bytes);
        }
      }
    }
    const got = hash ? `sha256:${hash.digest('hex')}` : diffId;
    if (got !== diffId) throw new IntegrityError(input, `sha256 is ${got}, not the diff_id ${diffId}`);
    await out.flush();
  } finally {
    if (large !== undefined && large !== 'unhashed') large[Symbol.dispose]();
  }
}
