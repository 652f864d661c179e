/** Writing whole buffers: fs's write calls may write less than asked. */
import { write } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

function writeFd(fd: number, data: Uint8Array, offset: number, length: number, position: number | null): Promise<number> {
  return new Promise((resolve, reject) => write(fd, data, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

/**
 * Writes all of `data` to a descriptor or handle, at `position` (or at the
 * file position when omitted).
 */
export async function writeAll(file: number | FileHandle, data: Uint8Array, position?: number): Promise<void> {
  for (let done = 0; done < data.length; ) {
    const at = position === undefined ? null : position + done;
    done += typeof file === 'number' ? await writeFd(file, data, done, data.length - done, at) : (await file.write(data, done, data.length - done, at)).bytesWritten;
  }
}
