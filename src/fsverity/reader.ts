/**
 * Reading a byte range of an open file in chunks with the next read already
 * in flight while the caller hashes the current chunk: the kernel's copy out
 * of the page cache runs on a libuv thread beside the hashing.
 */
import { read } from 'node:fs';
import { promisify } from 'node:util';
import { IntegrityError } from '../../common/index.js';

const readAt = promisify(read);

async function readAsync(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return (await readAt(fd, buffer, 0, length, position)).bytesRead;
}

export const READ_CHUNK = 4 << 20;

/**
 * Yields [start, end) of `fd` in chunks (views into one of two reused
 * buffers, valid until the next iteration). Ending early is an
 * IntegrityError naming `path`; with `end` undefined it reads to EOF.
 */
export async function* readChunks(fd: number, path: string, start: number, end?: number, sizeHint?: number): AsyncGenerator<Buffer> {
  // Small files need small buffers: thousands of them go through here.
  const expected = end === undefined ? (sizeHint ?? READ_CHUNK) : end - start;
  const size = Math.max(4096, Math.min(READ_CHUNK, expected + 1));
  const buffers = [Buffer.allocUnsafe(size), Buffer.allocUnsafe(size)];
  const want = (pos: number): number => (end === undefined ? size : Math.min(size, end - pos));
  let pos = start;
  let pending = want(pos) > 0 ? readAsync(fd, buffers[0] as Buffer, want(pos), pos) : undefined;
  while (pending) {
    const got = await pending;
    const buffer = buffers[0] as Buffer;
    if (got === 0) {
      if (end === undefined) return;
      throw new IntegrityError(path, `file ended at byte ${pos}, expected ${end} bytes (it changed while being read)`);
    }
    pos += got;
    buffers.reverse();
    pending = end === undefined || pos < end ? readAsync(fd, buffers[0] as Buffer, want(pos), pos) : undefined;
    yield buffer.subarray(0, got);
  }
}
