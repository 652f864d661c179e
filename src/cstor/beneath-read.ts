/**
 * Opening a layer file beneath diff/'s descriptor and reading it whole,
 * synchronously: the one place for those checks and their messages, used
 * by DiffFiles on the main thread and by the content workers (which get
 * diff/'s descriptor number: descriptors belong to the process). The file
 * is opened with O_NOFOLLOW and non-blocking and must be a regular file of
 * the size tar-split recorded; reading size + 1 bytes proves the size
 * without an fstat.
 */
import { closeSync, constants, fstatSync, readSync } from 'node:fs';
import { CfskitError, IntegrityError, SystemError, errnoOf, systemError } from '../../common/index.js';
import { openBeneathSync } from '../../host-bindings/index.js';

export const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * The error for a file the process may not read: in a rootless store the
 * files belong to the uids of the user namespace, readable from inside it.
 */
export function accessError(path: string, syscall: string): CfskitError {
  const hint = process.getuid?.() === 0 ? 'permission denied' : 'permission denied; files of a rootless store belong to other uids of your user namespace: run this under `podman unshare`';
  return new SystemError('EACCES', syscall, path, hint);
}

/** The error for a failed open of the layer file `shown`. */
export function openError(input: string, shown: string, err: unknown): CfskitError {
  const code = errnoOf(err);
  if (code === 'ENOENT') return new IntegrityError(input, `${shown} is missing from the layer`);
  if (code === 'ELOOP') return new IntegrityError(input, `${shown} is a symlink, not the file's content`);
  if (code === 'EACCES') return accessError(shown, 'open');
  return systemError(err, shown, 'open');
}

/** `relative` opened beneath `diffFd` (symlinks only while they stay beneath); `shown` names it in errors. */
export function openBeneathChecked(diffFd: number, input: string, relative: Buffer, shown: string): number {
  try {
    return openBeneathSync(diffFd, relative, OPEN_FLAGS, { symlinks: true });
  } catch (err) {
    if (errnoOf(err) === 'EXDEV') throw new IntegrityError(input, `${shown} leads outside the layer (a symlink or "..")`);
    if (errnoOf(err) === 'ENOTDIR') throw new IntegrityError(input, `${shown} is missing from the layer (a parent is not a directory)`);
    throw openError(input, shown, err);
  }
}

/** Why `fd` is not a regular file of `size` bytes (fstat), or undefined when it is one. */
export function sizeProblem(input: string, fd: number, shown: string, size: number): IntegrityError | undefined {
  const st = fstatSync(fd);
  if (!st.isFile()) return new IntegrityError(input, `${shown} is not a regular file`);
  if (st.size !== size) return new IntegrityError(input, `${shown} is ${st.size} bytes, tar-split says ${size}`);
  return undefined;
}

/** Why `fd`, which read as another size, is not a regular file of `size` bytes. */
export function mismatchError(input: string, fd: number, shown: string, size: number): IntegrityError {
  return sizeProblem(input, fd, shown, size) ?? new IntegrityError(input, `${shown} changed size while being read (tar-split says ${size})`);
}

/**
 * Reads the whole of `fd` into `into` at `offset`, where size + 1 bytes
 * must fit (the extra byte proves the file is no longer): throws unless it
 * is a regular file of exactly `size` bytes.
 */
export function readWholeSync(fd: number, input: string, shown: string, size: number, into: Uint8Array, offset: number): void {
  const limit = size + 1;
  let bytes = 0;
  try {
    for (let n = -1; n !== 0 && bytes < limit; bytes += n) n = readSync(fd, into, offset + bytes, limit - bytes, bytes);
  } catch (err) {
    if (errnoOf(err) === 'EISDIR' || errnoOf(err) === 'EAGAIN') throw new IntegrityError(input, `${shown} is not a regular file`);
    throw systemError(err, shown, 'read');
  }
  if (bytes !== size) throw mismatchError(input, fd, shown, size);
}

/** Opens and reads one file (see readWholeSync); returns its descriptor, which the caller closes. */
export function openAndReadBeneath(diffFd: number, input: string, relative: Buffer, shown: string, size: number, into: Uint8Array, offset: number): number {
  const fd = openBeneathChecked(diffFd, input, relative, shown);
  try {
    readWholeSync(fd, input, shown, size, into, offset);
  } catch (err) {
    closeSync(fd);
    throw err instanceof CfskitError ? err : systemError(err, shown, 'fstat');
  }
  return fd;
}
