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
 */
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { tarsplit, withInput, type CoreTarSplitRecord as CoreRecord, type CoreTarSplitFileEntry as FileEntry } from '../core/index.js';
import { InputError, NotFoundError, systemError, nodeErrorCode, closeFd } from '../../common/index.js';
import { checkContent, readContent, type ContentClaim } from './content.js';
import { DiffFiles, accessError } from './diff-files.js';
import { shortId, type StoredLayer } from './storage.js';

/** Files up to this size are read whole while prefetching. */
export const WHOLE_READ_MAX = 64 << 10;
const PREFETCH = 32;

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
  /** The content, for files up to WHOLE_READ_MAX bytes (checked if `verify`). */
  readonly data: Buffer | undefined;
  release(): number;
  /** The content in chunks, checked against size and CRC-64 as it is read. */
  chunks(): AsyncGenerator<Buffer>;
}

export type LayerEntry = LayerSegment | LayerFile;

export interface LayerEntryOptions {
  /** Check each file's size and CRC-64 before handing it over (default true). */
  readonly verify?: boolean;
}

/** The layer's tar-split records, decompressed and parsed as they stream. */
async function* records(layer: StoredLayer, label: string): AsyncGenerator<CoreRecord> {
  const path = layer.tarSplitPath;
  const input = `${label}: ${path}`;
  const source = createReadStream(path, { highWaterMark: 1 << 20 });
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

async function closeIfOwned({ entry, owned }: Prepared): Promise<void> {
  if (entry.kind === 'file' && owned()) await closeFd(entry.fd);
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
  const queue: { prepared: Promise<Prepared>; file: boolean }[] = [];
  let files = 0;
  let exhausted = false;
  try {
    for (;;) {
      while (!exhausted && files < PREFETCH && queue.length < 8 * PREFETCH) {
        const next = await source.next();
        if (next.done) {
          exhausted = true;
          break;
        }
        const record = next.value;
        if (record.tag === 'segment') {
          const segment: LayerSegment = { kind: 'segment', position: Number(record.val.position), bytes: record.val.payload };
          queue.push({ prepared: Promise.resolve({ entry: segment, owned: () => false }), file: false });
        } else if (record.val.size > 0n) {
          const prepared = prepare(record.val, label, diff, verify);
          // Failures surface in order, when this entry's turn comes.
          prepared.catch(() => undefined);
          queue.push({ prepared, file: true });
          files++;
        }
      }
      const head = queue.shift();
      if (!head) break;
      if (head.file) files--;
      const prepared = await head.prepared;
      try {
        yield prepared.entry;
      } finally {
        await closeIfOwned(prepared);
      }
    }
  } finally {
    await source.return(undefined);
    // Entries opened ahead that will never be handed over.
    await Promise.all(queue.map(async ({ prepared }) => prepared.then(closeIfOwned, () => undefined)));
  }
}
