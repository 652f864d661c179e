/**
 * Reading splitstream files through an open handle. The wasm core checks
 * the header and every range against the file size before anything is
 * read through it; the stream is decompressed as it is read, so memory
 * stays bounded whatever the stream claims.
 */
import type { FileHandle } from 'node:fs/promises';
import { type CoreSplitstreamHeader as Header, type CoreSplitstreamInfo as Info, splitstream, withInput } from '../core/index.js';
import { CfskitError, InputError, IntegrityError, systemError, type HashAlg, HASH_ALG_INFO } from '../../common/index.js';

export interface SplitstreamInfo {
  readonly hashAlg: HashAlg;
  /** `old`: the header layout of composefs-rs before its `repr(C)` fix. */
  readonly layout: 'current' | 'old';
  readonly contentType: bigint;
  /** Size of the original: inline bytes plus the external objects' sizes. */
  readonly streamSize: bigint;
  /** Objects the stream references, each once, in first-use order. */
  readonly objectRefs: readonly Uint8Array[];
  /** Streams referenced by name (and possibly some no name points at any more). */
  readonly streamRefs: readonly Uint8Array[];
  readonly namedRefs: ReadonlyMap<string, Uint8Array>;
}

export type SplitstreamChunk =
  | { readonly kind: 'inline'; readonly data: Uint8Array }
  | { readonly kind: 'external'; readonly index: number; readonly objectId: Uint8Array };

export interface SplitstreamReader {
  /** The name errors use (a path or a content ID). */
  readonly name: string;
  readonly info: SplitstreamInfo;
  /** The stream's chunks in order; each call reads the stream afresh. */
  chunks(): AsyncIterable<SplitstreamChunk>;
  /**
   * The stream section as stored (zstd-compressed), in pieces, for a
   * consumer that decodes it in the core itself (the image builder).
   */
  compressed(): AsyncIterable<Uint8Array>;
}

export interface SplitstreamExpectations {
  readonly contentType?: bigint;
  readonly hashAlg?: HashAlg;
}

/** Compressed bytes read per step of the stream. */
const READ_SIZE = 256 * 1024;

/** Reads exactly `length` bytes at `position`; a short read means the file changed. */
async function readRange(handle: FileHandle, name: string, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  for (let done = 0; done < length; ) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(buffer, done, length - done, position + done));
    } catch (err) {
      throw systemError(err, name, 'read');
    }
    if (bytesRead === 0) {
      throw new IntegrityError(name, `file ended at byte ${position + done}, expected ${position + length} (it changed while being read)`);
    }
    done += bytesRead;
  }
  return buffer;
}

/** A range already checked against the file size, as numbers. */
function span(range: { start: bigint; end: bigint }): { start: number; length: number } {
  return { start: Number(range.start), length: Number(range.end - range.start) };
}

function splitRefs(bytes: Buffer, digestSize: number): Uint8Array[] {
  const refs: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += digestSize) refs.push(Uint8Array.prototype.slice.call(bytes, at, at + digestSize));
  return refs;
}

/**
 * Opens the splitstream in `handle` (which stays the caller's to close);
 * `name` names it in errors. With `expect`, a stream of another content
 * type or hash algorithm is refused.
 */
export async function openSplitstream(
  handle: FileHandle,
  name: string,
  expect: SplitstreamExpectations = {},
): Promise<SplitstreamReader> {
  let size: number;
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new InputError(name, 'not a regular file');
    size = st.size;
  } catch (err) {
    throw err instanceof CfskitError ? err : systemError(err, name, 'fstat');
  }
  const fileSize = BigInt(size);
  const head = await readRange(handle, name, 0, Math.min(size, 32));
  const header: Header = withInput(name, () => splitstream.parseHeader(head, fileSize, expect.hashAlg));
  const infoRange = span(header.info);
  const infoBytes = await readRange(handle, name, infoRange.start, infoRange.length);
  const info: Info = withInput(name, () => splitstream.parseInfo(header, infoBytes, fileSize, expect.contentType));

  const { digestSize } = HASH_ALG_INFO[header.algorithm];
  const streamRefsRange = span(info.streamRefs);
  const objectRefsRange = span(info.objectRefs);
  const objectRefs = splitRefs(await readRange(handle, name, objectRefsRange.start, objectRefsRange.length), digestSize);
  const streamRefs = splitRefs(await readRange(handle, name, streamRefsRange.start, streamRefsRange.length), digestSize);
  if (objectRefs.length > 0xffffffff || streamRefs.length > 0xffffffff) {
    throw new InputError(name, 'splitstream has more than 2^32 refs');
  }
  const namedRange = span(info.namedRefs);
  const namedBytes = await readRange(handle, name, namedRange.start, namedRange.length);
  const named = withInput(name, () => splitstream.decodeNamedRefs(namedBytes, streamRefs.length));
  const namedRefs = new Map<string, Uint8Array>();
  for (const ref of named) {
    const id = streamRefs[ref.index];
    // The core checked the index; this only satisfies the type checker.
    if (!id) throw new InputError(name, `splitstream named ref "${ref.name}" points past stream_refs`);
    namedRefs.set(ref.name, id);
  }

  const summary: SplitstreamInfo = {
    hashAlg: header.algorithm,
    layout: header.layout,
    contentType: info.contentType,
    streamSize: info.streamSize,
    objectRefs,
    streamRefs,
    namedRefs,
  };
  const stream = span(info.stream);
  return {
    name,
    info: summary,
    chunks: () => readChunks(handle, name, summary, stream.start, stream.start + stream.length),
    compressed: () => readCompressed(handle, name, stream.start, stream.start + stream.length),
  };
}

async function* readCompressed(handle: FileHandle, name: string, start: number, end: number): AsyncGenerator<Uint8Array> {
  for (let pos = start; pos < end; pos += READ_SIZE) {
    yield await readRange(handle, name, pos, Math.min(READ_SIZE, end - pos));
  }
}

async function* readChunks(
  handle: FileHandle,
  name: string,
  info: SplitstreamInfo,
  start: number,
  end: number,
): AsyncGenerator<SplitstreamChunk> {
  const decoder = withInput(name, () => splitstream.StreamDecoder.create(info.objectRefs.length, info.streamSize));
  try {
    let pos = start;
    for (;;) {
      const event = withInput(name, () => decoder.next());
      switch (event.tag) {
        case 'inline':
          yield { kind: 'inline', data: event.val };
          break;
        case 'external': {
          const objectId = info.objectRefs[event.val];
          if (!objectId) throw new InputError(name, `splitstream external chunk refers to object ${event.val}, past object_refs`);
          yield { kind: 'external', index: event.val, objectId };
          break;
        }
        case 'need-input':
          if (pos === end) {
            decoder.endInput();
          } else {
            const length = Math.min(READ_SIZE, end - pos);
            const compressed = await readRange(handle, name, pos, length);
            withInput(name, () => decoder.feed(compressed));
            pos += length;
          }
          break;
        case 'end':
          return;
      }
    }
  } finally {
    decoder[Symbol.dispose]();
  }
}
