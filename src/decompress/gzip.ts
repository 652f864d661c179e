/**
 * gzip layer blobs decompressed as they stream, by Node's zlib (on the
 * libuv thread pool, beside the JavaScript that splits the tar). Several
 * gzip members back to back are one stream, as gzip itself reads them.
 */
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { CfskitError, InputError } from '../../common/index.js';

const CHUNK = 256 << 10;

export async function* gzipDecompress(source: AsyncIterable<Uint8Array>, input: string): AsyncGenerator<Uint8Array> {
  const gunzip = createGunzip({ chunkSize: CHUNK });
  // Errors reach the consumer through the gunzip stream's iterator.
  const output = pipeline(Readable.from(source, { objectMode: false, highWaterMark: CHUNK }), gunzip, () => undefined);
  try {
    for await (const chunk of output as AsyncIterable<Buffer>) yield chunk;
  } catch (err) {
    // Errors of the source (a digest mismatch, a failed fetch) keep their kind.
    if (err instanceof CfskitError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new InputError(input, `gzip data is corrupt or truncated (${message})`, { cause: err });
  } finally {
    output.destroy();
  }
}
