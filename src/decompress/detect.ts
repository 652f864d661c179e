/**
 * Which compression a layer blob uses, from its first bytes (as
 * containers/image detects it: docker-archive layers are labelled gzip
 * whatever they hold, and a registry's media type is only a claim), and
 * the stream of its uncompressed bytes, bounded against decompression
 * bombs.
 */
import { InputError } from '../../common/index.js';
import { gzipDecompress } from './gzip.js';
import { zstdDecompress } from './zstd.js';

export type Compression = 'none' | 'gzip' | 'zstd';

/** How far a blob may expand by default: gzip's own ceiling is ~1032:1. */
export const DEFAULT_MAX_EXPANSION = 256;
/** Below this many uncompressed bytes the ratio is not checked. */
export const EXPANSION_FLOOR = 64 << 20;

export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4) {
    const magic = Buffer.from(head.buffer, head.byteOffset, 4).readUInt32LE(0);
    // A zstd frame, or a skippable frame (zstd:chunked may start with one).
    if (magic === 0xfd2fb528 || (magic & 0xfffffff0) === 0x184d2a50) return 'zstd';
  }
  return 'none';
}

/** Puts back the bytes already taken from an iterator in front of the rest. */
async function* prepend(head: Uint8Array[], rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield* head;
    for (;;) {
      const next = await rest.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    await rest.return?.();
  }
}

export interface DecompressOptions {
  /** Names the blob in errors. */
  readonly input: string;
  /** The compressed size (the descriptor's): what the ratio is taken of. */
  readonly compressedSize: number;
  readonly maxExpansion?: number;
  /** Told which compression was found, before the first byte comes out. */
  readonly detected?: (compression: Compression) => void;
}

/** The uncompressed bytes of a layer blob, whatever its compression. */
export async function* decompressLayer(source: AsyncIterable<Uint8Array>, options: DecompressOptions): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  const head: Uint8Array[] = [];
  let have = 0;
  while (have < 4) {
    const next = await iterator.next();
    if (next.done) break;
    head.push(next.value);
    have += next.value.length;
  }
  const compression = detectCompression(Buffer.concat(head));
  options.detected?.(compression);
  const raw = prepend(head, iterator);
  if (compression === 'none') {
    yield* raw;
    return;
  }
  const ratio = options.maxExpansion ?? DEFAULT_MAX_EXPANSION;
  const limit = Math.max(EXPANSION_FLOOR, options.compressedSize * ratio);
  const decoded = compression === 'gzip' ? gzipDecompress(raw, options.input) : zstdDecompress(raw, options.input);
  let produced = 0;
  for await (const chunk of decoded) {
    produced += chunk.length;
    if (produced > limit) {
      throw new InputError(
        options.input,
        `${compression} data expands beyond ${limit} bytes, more than ${ratio} times its ${options.compressedSize} compressed bytes ` +
          '(a decompression bomb? raise the limit with --max-expansion)',
      );
    }
    yield chunk;
  }
}
