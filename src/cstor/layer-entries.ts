/**
 * A layer as tar-split describes it, entry by entry: raw tar bytes to emit
 * as they are, and files whose content is in `diff/`. The tar-split file is
 * decompressed as a stream and parsed in the wasm core, so memory stays
 * bounded whatever the layer's size.
 *
 * Consumers (layer-tar, the importer) see two kinds of entry:
 *
 * - `segment`: bytes of the original tar (headers, PAX/GNU records,
 *   padding, end-of-archive). tar-split stores the padding after a file's
 *   content at the start of the *next* segment.
 * - `file`: a member with content (size > 0), its file already open and
 *   checked to be a regular file of that size; small files come with their
 *   content read. Empty files, directories and links have no content and
 *   produce no entry (their headers are in the segments).
 *
 * With `verify: true` (the default) each file's CRC-64 is checked before it
 * is handed over (large files are then read twice); with `verify: false`
 * the consumer reads through `chunks()`, which checks as it goes.
 *
 * Files are opened (and small ones read) up to PREFETCH entries ahead, so
 * the latency of each open and read overlaps the others; at most PREFETCH
 * descriptors are open besides those the consumer has released.
 *
 * With `batch` (an import, with the addon) files are instead opened
 * (beneath diff/'s descriptor, as here), read and checked (size, CRC-64,
 * and their object ID computed) on the content workers: those up to
 * BATCH_FILE_MAX in batches (content-batcher.ts), up to BATCHED_AHEAD files
 * and BATCHED_AHEAD_BYTES ahead, and come with `data`; larger ones one per
 * job, up to PREFETCH ahead, and come without (whoever needs the bytes
 * reads them again). Such entries are `checked`, with `objectId` when asked
 * for. Files over EXTERNAL_SIZE_MAX are left to the consumer to refuse
 * before anything reads them.
 */
import { closeSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { EXTERNAL_SIZE_MAX, tarsplit, withInput, type CoreTarSplitRecord as CoreRecord, type CoreTarSplitFileEntry as FileEntry } from '../core/index.js';
import { CfskitError, InputError, NotFoundError, closeFd, errnoOf, inContext, nodeErrorCode, openRegularFile, systemError, type HashAlg } from '../../common/index.js';
import { BATCH_FILE_MAX } from './content-batch.js';
import { ContentBatcher, type BatchedContent } from './content-batcher.js';
import { checkContent, readContent, type ContentClaim } from './content.js';
import { DiffFiles, accessError } from './diff-files.js';
import { shortId, type StoredLayer } from './storage.js';

/** Files up to this size are read whole while prefetching. */
export const WHOLE_READ_MAX = 64 << 10;
const PREFETCH = 32;
/** Batched files (see the module comment) queued or in flight at most ... */
const BATCHED_AHEAD = 512;
/** ... and their bytes. */
const BATCHED_AHEAD_BYTES = 8 << 20;

export interface LayerSegment {
  readonly kind: 'segment';
  /** The tar-split record's position. */
  readonly position: number;
  readonly bytes: Uint8Array;
}

export interface LayerFile extends ContentClaim {
  readonly kind: 'file';
  readonly position: number;
  /** The member name as recorded (`./usr/bin/ls`), raw bytes. */
  readonly name: Buffer;
  /** Absolute path of the content file (bytes: names need not be UTF-8). */
  readonly diffPath: Buffer;
  /**
   * A raw descriptor, open read-only (for FICLONE, reads, ...). Owned by the
   * iterator, which closes it when asked for the next entry, unless
   * `release()` hands it over to you (then close it with fs.close).
   */
  readonly fd: number;
  /** The content, for files up to WHOLE_READ_MAX bytes (checked if `verify`), or batched ones. */
  readonly data: Buffer | undefined;
  /** Read and checked against tar-split already (a batched file: see the module comment). */
  readonly checked: boolean;
  /** The content's fs-verity digest in hex, for a batched file when `batch.hashAlg` was given. */
  readonly objectId: string | undefined;
  release(): number;
  /** The content in chunks, checked against size and CRC-64 as it is read. */
  chunks(): AsyncGenerator<Buffer>;
}

export type LayerEntry = LayerSegment | LayerFile;

export interface LayerEntryOptions {
  /** Check each file's size and CRC-64 before handing it over (default true). */
  readonly verify?: boolean;
  /**
   * Read, check and (with `hashAlg`) digest small files in batches on
   * worker threads (see the module comment); ignored without the addon.
   */
  readonly batch?: { readonly hashAlg: HashAlg | undefined };
}

/** The layer's tar-split records, decompressed and parsed as they stream. */
async function* records(layer: StoredLayer, label: string): AsyncGenerator<CoreRecord> {
  const path = layer.tarSplitPath;
  const input = `${label}: ${path}`;
  let opened;
  try {
    // containers-storage writes it: a regular file, never a symlink, FIFO or device.
    opened = await openRegularFile(path, { what: "a layer's tar-split metadata" });
  } catch (err) {
    if (err instanceof NotFoundError) throw new NotFoundError(label, `no tar-split metadata (${path}): the layer cannot be rebuilt byte-for-byte`);
    if (errnoOf(err) === 'EACCES') throw accessError(path, 'open');
    throw inContext(err instanceof CfskitError ? err : systemError(err, path, 'open'), label);
  }
  const source = opened.handle.createReadStream({ highWaterMark: 1 << 20 });
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  source.on('error', (err) => gunzip.destroy(err));
  source.pipe(gunzip);
  const reader = tarsplit.Reader.create();
  try {
    try {
      for await (const chunk of gunzip as AsyncIterable<Buffer>) {
        yield* withInput(label, () => reader.push(chunk));
      }
    } catch (err) {
      // zlib's codes as well as errno names.
      const code = nodeErrorCode(err);
      if (code === 'ENOENT') throw new NotFoundError(label, `no tar-split metadata (${path}): the layer cannot be rebuilt byte-for-byte`);
      if (code === 'Z_DATA_ERROR') throw new InputError(input, `not gzip data, or damaged (${(err as Error).message})`);
      if (code === 'Z_BUF_ERROR') throw new InputError(input, 'truncated gzip data');
      if (code === 'EACCES') throw accessError(path, 'open');
      throw systemError(err, path, 'read');
    }
    yield* withInput(label, () => reader.finish());
  } finally {
    reader[Symbol.dispose]();
    source.destroy();
    gunzip.destroy();
  }
}

/** An entry waiting its turn; `owned()` says whether the iterator must close its file. */
interface Prepared {
  readonly entry: LayerEntry;
  readonly owned: () => boolean;
}

/** Opens (and for small files reads, and with `verify` checks) one file record. */
async function prepare(record: FileEntry, label: string, diff: DiffFiles, verify: boolean): Promise<Prepared> {
  const input = `${label}: tar-split entry ${record.position}`;
  const name = Buffer.from(record.name);
  const size = Number(record.size);
  const claim: ContentClaim = { input, displayName: name.toString('utf8'), size, crc64: record.crc64 ?? 0n };
  const opened = await diff.open(input, Buffer.from(record.path), size, size <= WHOLE_READ_MAX);
  const shown = opened.path.toString();
  const data = opened.data;
  try {
    if (verify) {
      if (data) checkContent(claim, data);
      else for await (const _chunk of readContent(claim, opened.fd, shown));
    }
    let owned = true;
    const entry: LayerFile = {
      ...claim,
      kind: 'file',
      position: Number(record.position),
      name,
      diffPath: opened.path,
      fd: opened.fd,
      data,
      checked: verify,
      objectId: undefined,
      release() {
        owned = false;
        return opened.fd;
      },
      async *chunks() {
        if (data) {
          checkContent(claim, data);
          yield data;
        } else {
          yield* readContent(claim, opened.fd, shown);
        }
      },
    };
    return { entry, owned: () => owned };
  } catch (err) {
    await closeFd(opened.fd);
    throw err;
  }
}

/** A read-only descriptor of a local file: closing it cannot block, and an asynchronous close costs more, per file. */
function closeIfOwned({ entry, owned }: Prepared): void {
  if (entry.kind === 'file' && owned()) closeSync(entry.fd);
}

/** The entry of a file read and checked by the content workers. */
function batchedEntry(record: FileEntry, claim: ContentClaim, name: Buffer, diffPath: Buffer, content: BatchedContent): Prepared {
  let owned = true;
  const { fd, data, objectId } = content;
  const entry: LayerFile = {
    ...claim,
    kind: 'file',
    position: Number(record.position),
    name,
    diffPath,
    fd,
    data,
    checked: true,
    objectId,
    release() {
      owned = false;
      return fd;
    },
    async *chunks() {
      if (data) yield data;
      else yield* readContent(claim, fd, diffPath.toString());
    },
  };
  return { entry, owned: () => owned };
}

/**
 * The entries of `layer` in order. Errors name the layer, the tar-split
 * entry and the file: "layer 3f2a…: tar-split entry 17: CRC64 mismatch
 * for ./usr/bin/ls (…)".
 */
export async function* readLayerEntries(layer: StoredLayer, options: LayerEntryOptions = {}): AsyncGenerator<LayerEntry> {
  const verify = options.verify ?? true;
  const label = `layer ${shortId(layer.id)}`;
  const diff = new DiffFiles(layer.diffDir);
  const source = records(layer, label);
  /** `batch`: the number of the content batch a batched file is in. */
  const queue: { prepared: Promise<Prepared>; file: boolean; batch?: number; bytes: number }[] = [];
  let batcher: ContentBatcher | undefined;
  let noBatcher = false;
  let files = 0;
  let batched = 0;
  let batchedBytes = 0;
  let exhausted = false;
  try {
    for (;;) {
      while (!exhausted && files < PREFETCH && batched < BATCHED_AHEAD && batchedBytes < BATCHED_AHEAD_BYTES && queue.length < 8 * BATCHED_AHEAD) {
        const next = await source.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        const record = next.value;
        if (record.tag === 'segment') {
          const segment: LayerSegment = { kind: 'segment', position: Number(record.val.position), bytes: record.val.payload };
          queue.push({ prepared: Promise.resolve({ entry: segment, owned: () => false }), file: false, bytes: 0 });
        } else if (record.val.size > 0n) {
          const size = Number(record.val.size);
          const input = `${label}: tar-split entry ${record.val.position}`;
          if (options.batch && batcher === undefined && !noBatcher) {
            try {
              batcher = makeBatcher(diff, input, options.batch.hashAlg);
              noBatcher = batcher === undefined;
            } catch (err) {
              // diff/ itself cannot be opened: this entry's error, in its turn.
              const failed = Promise.reject(err as Error);
              failed.catch(() => undefined);
              queue.push({ prepared: failed, file: false, bytes: 0 });
              continue;
            }
          }
          if (batcher && size > BATCH_FILE_MAX && size <= EXTERNAL_SIZE_MAX) {
            // Larger still is refused by its size (by the importer) before anything reads it.
            const file = record.val;
            const name = Buffer.from(file.name);
            const path = Buffer.from(file.path.buffer, file.path.byteOffset, file.path.byteLength);
            const claim: ContentClaim = { input, displayName: name.toString('utf8'), size, crc64: file.crc64 ?? 0n };
            const content = batcher.addStreamed({ ...claim, path: path.toString('latin1') });
            const prepared = content.then((c) => batchedEntry(file, claim, name, diff.absolute(path), c));
            prepared.catch(() => undefined);
            queue.push({ prepared, file: true, bytes: 0 });
            files++;
          } else if (batcher && size <= BATCH_FILE_MAX) {
            const file = record.val;
            const name = Buffer.from(file.name);
            const path = Buffer.from(file.path.buffer, file.path.byteOffset, file.path.byteLength);
            const claim: ContentClaim = { input, displayName: name.toString('utf8'), size, crc64: file.crc64 ?? 0n };
            const { content, batch } = batcher.add({ ...claim, path: path.toString('latin1') });
            const prepared = content.then((c) => batchedEntry(file, claim, name, diff.absolute(path), c));
            prepared.catch(() => undefined);
            queue.push({ prepared, file: false, batch, bytes: size });
            batched++;
            batchedBytes += size;
          } else {
            const prepared = prepare(record.val, label, diff, verify);
            // Failures surface in order, when this entry's turn comes.
            prepared.catch(() => undefined);
            queue.push({ prepared, file: true, bytes: 0 });
            files++;
          }
        }
      }
      const head = queue.shift();
      if (!head) break;
      if (head.file) files--;
      if (head.batch !== undefined) {
        batched--;
        batchedBytes -= head.bytes;
        batcher?.ensureSent(head.batch);
      }
      const prepared = await head.prepared;
      try {
        yield prepared.entry;
      } finally {
        closeIfOwned(prepared);
      }
    }
  } finally {
    await source.return(undefined);
    // Nothing may still use diff/'s descriptor once it is closed below.
    await batcher?.drain();
    // Entries opened ahead that will never be handed over.
    await Promise.all(queue.map(async ({ prepared }) => prepared.then(closeIfOwned, () => undefined)));
    diff.close();
  }
}

/** A batcher for `diff`'s files, or undefined without the addon (then files are opened here, one by one). */
function makeBatcher(diff: DiffFiles, input: string, hashAlg: HashAlg | undefined): ContentBatcher | undefined {
  const diffFd = diff.confinedRoot(input);
  return diffFd === undefined ? undefined : new ContentBatcher(diffFd, diff.root, hashAlg);
}
