/**
 * Opening and reading a file cfskit is given or finds, the one way every
 * reader does it: opened non-blocking (a FIFO or a device never makes the
 * open or a read wait), without following a final symlink where the format
 * says it cannot be one, checked to be a regular file, and read with a bound
 * that fits what the file is (documents, configs, images): `/dev/zero`, a
 * FIFO, a 14 GB "meta.json" all get an error naming the file.
 */
import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { InputError, LimitError, NotFoundError, systemError } from './errors.js';
import { errnoOf } from './errno.js';

export interface OpenFileOptions {
  /** What the file is, for messages: "a repository meta.json". */
  readonly what: string;
  /** Follow a final symlink (a path the user gave, a config); default false. */
  readonly follow?: boolean;
}

export interface ReadFileOptions extends OpenFileOptions {
  /** The most bytes a file of this kind can have. */
  readonly maxBytes: number;
}

/** "a FIFO", "a directory", …: what a non-regular file is. */
export function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symlink';
  return 'not a regular file';
}

function openError(path: string, what: string, err: unknown): Error {
  switch (errnoOf(err)) {
    case 'ENOENT':
      return new NotFoundError(path, `no such file (${what})`);
    case 'ELOOP':
      return new InputError(path, `is a symlink where ${what} must be a file; refusing to follow it`);
    case 'ENXIO':
      // A FIFO without a writer or a socket opened non-blocking.
      return new InputError(path, `is not a regular file, as ${what} must be`);
    default:
      return systemError(err, path, 'open');
  }
}

/**
 * Opens `path` read-only as a regular file (see the module comment). The
 * handle is the caller's to close; its stat is the one checked.
 */
export async function openRegularFile(path: string, options: OpenFileOptions): Promise<{ handle: FileHandle; stats: Stats }> {
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.follow === true ? 0 : constants.O_NOFOLLOW);
  let handle: FileHandle;
  try {
    handle = await open(path, flags);
  } catch (err) {
    throw openError(path, options.what, err);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new InputError(path, `is ${fileKind(stats)}, not a regular file as ${options.what} must be`);
    return { handle, stats };
  } catch (err) {
    await handle.close();
    throw err instanceof InputError ? err : systemError(err, path, 'fstat');
  }
}

/**
 * The bytes of an open regular file, at most `maxBytes`: its stat size is
 * checked first, and reading goes on past it (a file may grow) only up to
 * one byte beyond the bound, so nothing larger is ever held.
 */
export async function readBounded(handle: FileHandle, path: string, size: number, options: ReadFileOptions): Promise<Buffer> {
  const { maxBytes, what } = options;
  const tooLarge = (n: number | string): LimitError => new LimitError(path, `${n} bytes is more than ${what} may have (${maxBytes} at most)`);
  if (size > maxBytes) throw tooLarge(size);
  let buffer = Buffer.allocUnsafe(Math.min(size + 1, maxBytes + 1));
  let filled = 0;
  try {
    for (;;) {
      if (filled === buffer.length) {
        if (filled > maxBytes) throw tooLarge(`more than ${maxBytes}`);
        const bigger = Buffer.allocUnsafe(Math.min(maxBytes + 1, buffer.length * 2));
        buffer.copy(bigger, 0, 0, filled);
        buffer = bigger;
      }
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) return buffer.subarray(0, filled);
      filled += bytesRead;
    }
  } catch (err) {
    throw err instanceof LimitError ? err : systemError(err, path, 'read');
  }
}

/** Opens, checks and reads `path` whole, within `maxBytes` (see the module comment). */
export async function readRegularFile(path: string, options: ReadFileOptions): Promise<Buffer> {
  const { handle, stats } = await openRegularFile(path, options);
  try {
    return await readBounded(handle, path, stats.size, options);
  } finally {
    await handle.close();
  }
}

/** The same, undefined when the file does not exist. */
export async function readOptionalFile(path: string, options: ReadFileOptions): Promise<Buffer | undefined> {
  try {
    return await readRegularFile(path, options);
  } catch (err) {
    if (err instanceof NotFoundError && err.input === path) return undefined;
    throw err;
  }
}
