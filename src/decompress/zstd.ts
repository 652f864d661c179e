/**
 * zstd layer blobs decompressed as they stream, in the wasm core (Node's
 * zlib has no zstd): frames back to back and skippable frames, as
 * zstd:chunked writes them. Output comes in pieces of at most 1 MiB.
 */
import { withInput, zstd } from '../core/index.js';

const READ_MAX = 1 << 20;

export async function* zstdDecompress(source: AsyncIterable<Uint8Array>, input: string): AsyncGenerator<Uint8Array> {
  const decoder = withInput(input, () => zstd.Decoder.create());
  try {
    for await (const chunk of source) {
      decoder.feed(chunk);
      for (;;) {
        const out = withInput(input, () => decoder.read(READ_MAX));
        if (out.length === 0) break;
        yield out;
      }
    }
    withInput(input, () => decoder.finish());
  } finally {
    decoder[Symbol.dispose]();
  }
}
