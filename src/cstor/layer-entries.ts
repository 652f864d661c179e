/**
 * A layer as tar-split describes it, entry by entry: raw tar bytes to emit
 * as they are, and files whose content is in `diff/`. The tar-split file is
 * decompressed as a stream and parsed in the wasm core, so memory stays
 * bounded whatever the layer's size.
 *
 * Consumers (layer-tar, the importer) see two kinds of entry:
 *
 * - `segment`: bytes of the original tar (headers, PAX/GNU records,
 *   padding, end-of-archive). Note that tar-split stores the padding after
 *   a file's content at the start of the *next* segment.
 * - `file`: a member with content (size > 0), its file already open and
 *   checked to be a regular file of that size. Empty files, directories and
 *   links have no content and produce no entry (their headers are in the
 *   segments).
 *
 * With `verify: true` (the default) each file's CRC-64 is checked before it
 * is handed over, which reads it once more; with `verify: false` the
 * consumer reads it and must check it with `ContentCheck`.
 */
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { tarsplit, withInput } from '../core/wasm.js';
import { IntegrityError, InputError, NotFoundError, systemError } from '../errors.js';
import type { Entry as CoreRecord } from '../../gen/wasm-core/interfaces/cfskit-core-tarsplit.js';
import { DiffFiles, accessError } from './diff-files.js';
import { shortId, type StoredLayer } from './storage.js';

export const READ_CHUNK = 1 << 20;

export interface LayerSegment {
  readonly kind: 'segment';
  /** The tar-split record's position. */
  readonly position: number;
  readonly bytes: Uint8Array;
}

export interface LayerFile {
  readonly kind: 'file';
  readonly position: number;
  /** The member name as recorded (`./usr/bin/ls`), raw bytes. */
  readonly name: Buffer;
  /** The name for messages (invalid UTF-8 replaced). */
  readonly displayName: string;
  readonly size: number;
  /** CRC-64/GO-ISO of the content, as tar-split recorded it. */
  readonly crc64: bigint;
  /** Absolute path of the content file (bytes: names need not be UTF-8). */
  readonly diffPath: Buffer;
  /**
   * Open read-only. Owned by the iterator, which closes it when asked for
   * the next entry, unless `release()` hands it over to you.
   */
  readonly handle: FileHandle;
  release(): FileHandle;
  /** Label for errors: `layer 3f2a…: tar-split entry 17`. */
  readonly input: string;
}

export type LayerEntry = LayerSegment | LayerFile;

export interface LayerEntryOptions {
  /** Read each file and check its CRC-64 before handing it over (default true). */
  readonly verify?: boolean;
}

/** Checks content read by the consumer against the entry's size and CRC-64. */
export class ContentCheck {
  readonly #entry: Pick<LayerFile, 'input' | 'displayName' | 'size' | 'crc64'>;
  readonly #crc = tarsplit.Crc64.create();
  #bytes = 0;

  constructor(entry: Pick<LayerFile, 'input' | 'displayName' | 'size' | 'crc64'>) {
    this.#entry = entry;
  }

  update(bytes: Uint8Array): void {
    this.#crc.update(bytes);
    this.#bytes += bytes.length;
  }

  /** Throws an IntegrityError naming the layer, entry and file on a mismatch. */
  finish(): void {
    const { input, displayName, size, crc64 } = this.#entry;
    try {
      if (this.#bytes !== size) {
        throw new IntegrityError(input, `read ${this.#bytes} bytes of ${displayName}, expected ${size} (it changed while being read)`);
      }
      const got = this.#crc.value();
      if (got !== crc64) {
        const hex = (v: bigint): string => v.toString(16).padStart(16, '0');
        throw new IntegrityError(input, `CRC64 mismatch for ${displayName} (diff/ has ${hex(got)}, tar-split says ${hex(crc64)})`);
      }
    } finally {
      this.#crc[Symbol.dispose]();
    }
  }
}

/** Reads an open content file through a ContentCheck, chunk by chunk. */
export async function* readChecked(entry: LayerFile, chunkSize = READ_CHUNK): AsyncGenerator<Buffer> {
  const check = new ContentCheck(entry);
  let position = 0;
  for (;;) {
    const want = Math.min(chunkSize, Math.max(entry.size - position, 0) + 1);
    const buffer = Buffer.allocUnsafe(want);
    let bytesRead: number;
    try {
      ({ bytesRead } = await entry.handle.read(buffer, 0, want, position));
    } catch (err) {
      throw systemError(err, entry.diffPath.toString(), 'read');
    }
    if (bytesRead === 0) break;
    const chunk = buffer.subarray(0, bytesRead);
    check.update(chunk);
    position += bytesRead;
    if (position > entry.size) break;
    yield chunk;
  }
  check.finish();
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
      const code = (err as NodeJS.ErrnoException).code;
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

/**
 * The entries of `layer` in order. Errors name the layer, the tar-split
 * entry and the file: "layer 3f2a…: tar-split entry 17: CRC64 mismatch
 * for ./usr/bin/ls (…)".
 */
export async function* readLayerEntries(layer: StoredLayer, options: LayerEntryOptions = {}): AsyncGenerator<LayerEntry> {
  const verify = options.verify ?? true;
  const label = `layer ${shortId(layer.id)}`;
  const diff = new DiffFiles(layer.diffDir);
  for await (const record of records(layer, label)) {
    if (record.tag === 'segment') {
      yield { kind: 'segment', position: Number(record.val.position), bytes: record.val.payload };
      continue;
    }
    const { position, size, crc64 } = record.val;
    if (size === 0n) continue;
    const input = `${label}: tar-split entry ${position}`;
    const name = Buffer.from(record.val.name);
    const displayName = name.toString('utf8');
    const opened = await diff.open(input, Buffer.from(record.val.path), Number(size));
    let owned = true;
    const entry: LayerFile = {
      kind: 'file',
      position: Number(position),
      name,
      displayName,
      size: Number(size),
      crc64: crc64 ?? 0n,
      diffPath: opened.path,
      handle: opened.handle,
      input,
      release() {
        owned = false;
        return opened.handle;
      },
    };
    try {
      if (verify) {
        for await (const _chunk of readChecked(entry));
      }
      yield entry;
    } finally {
      if (owned) await opened.handle.close();
    }
  }
}
