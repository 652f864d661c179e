/**
 * Raw file descriptor calls, for code that opens many files: the layer
 * reader (containers-storage) opens, reads and closes one
 * file per tar member, tens of thousands per layer: Node's FileHandle
 * objects cost several times more per call than these callbacks, and for
 * small files even the thread-pool round trip of a callback costs more than
 * the system call itself (opening and reading 20 000 cached small files
 * took 1.0-1.2 s with 32 callbacks in flight, 0.3-0.6 s synchronously), so
 * those use the synchronous calls, which block for microseconds.
 */
import { closeSync, fstat, open, openSync, read, readSync, type Stats } from 'node:fs';

export function openFd(path: string | Buffer, flags: number, mode = 0o666): Promise<number> {
  return new Promise((resolve, reject) => open(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

export function fstatFd(fd: number): Promise<Stats> {
  return new Promise((resolve, reject) => fstat(fd, (err, st) => (err ? reject(err) : resolve(st))));
}

export function readFd(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => read(fd, buffer, offset, length, position, (err, n) => (err ? reject(err) : resolve(n))));
}

/**
 * Closing a descriptor opened read-only on a local file writes nothing
 * back and takes microseconds: done synchronously, it saves a thread-pool
 * round trip per file.
 */
export async function closeFd(fd: number): Promise<void> {
  closeSync(fd);
}

/** Opens and reads up to `buffer.length` bytes from the start, synchronously (small files). */
export function openAndReadSync(path: Buffer, flags: number, buffer: Buffer): { fd: number; bytes: number } {
  const fd = openSync(path, flags);
  let bytes = 0;
  try {
    for (let n = -1; n !== 0 && bytes < buffer.length; bytes += n) n = readSync(fd, buffer, bytes, buffer.length - bytes, bytes);
  } catch (err) {
    closeSync(fd);
    throw Object.assign(err as Error, { fd });
  }
  return { fd, bytes };
}
