/**
 * Moving file data and publishing names without ever showing a partial
 * file: reflink (FICLONE), in-kernel copy, O_TMPFILE objects linked into
 * place once complete, no-replace renames, syncing. Failures are
 * SystemErrors; callers branch on `err.errno` ('EXDEV', 'EOPNOTSUPP',
 * 'EEXIST', ...), which is the kernel's own answer.
 */
import { describe, hostCall } from './call.js';
import type { PathArg } from './native.js';

declare module './native.js' {
  interface NativeHost {
    ficlone(srcFd: number, dstFd: number): Promise<void>;
    copyFileRange(srcFd: number, dstFd: number, length: number): Promise<number>;
    openTmpfile(dir: PathArg, mode: number): Promise<number>;
    reopenReadOnly(fd: number): Promise<number>;
    linkTmpfile(fd: number, path: PathArg): Promise<void>;
    linkFile(from: PathArg, to: PathArg): Promise<void>;
    renameNoReplace(from: PathArg, to: PathArg): Promise<void>;
    syncfs(fd: number): Promise<void>;
    fsyncFd(fd: number): Promise<void>;
  }
}

/**
 * Makes dstFd (open for writing) share srcFd's data extents, whole file:
 * no data is copied. 'EOPNOTSUPP' where the file system cannot (ext4),
 * 'EXDEV' across file systems.
 */
export function ficlone(srcFd: number, dstFd: number): Promise<void> {
  return hostCall('cloning a file (FICLONE)', `${describe(srcFd)} → ${describe(dstFd)}`, (host) => host.ficlone(srcFd, dstFd));
}

/**
 * Copies [0, length) of srcFd to dstFd at offset 0, in the kernel where it
 * can (copy_file_range, which may itself reflink), through a buffer where
 * it cannot (across file systems). Returns the bytes copied: fewer than
 * `length` only when the source is shorter. Neither fd's position moves,
 * and dst is not truncated.
 */
export function copyFileRange(srcFd: number, dstFd: number, length: number): Promise<number> {
  return hostCall('copying file data', `${describe(srcFd)} → ${describe(dstFd)}`, (host) => host.copyFileRange(srcFd, dstFd, length));
}

/**
 * A new nameless file in `dir`'s file system, open read-write (O_TMPFILE),
 * `mode` less the umask. It vanishes when closed unless linkTmpfile names
 * it. 'EOPNOTSUPP' (or 'EISDIR' on old kernels) where the file system has
 * no O_TMPFILE.
 */
export function openTmpfile(dir: PathArg, mode: number): Promise<number> {
  return hostCall('creating a temporary file (O_TMPFILE)', describe(dir), (host) => host.openTmpfile(dir, mode));
}

/**
 * A read-only fd of the same file (through /proc/self/fd, so it works for
 * an unnamed O_TMPFILE). Closing the writable fd afterwards keeps the file
 * alive with no writer, as enabling fs-verity requires.
 */
export function reopenReadOnly(fd: number): Promise<number> {
  return hostCall('reopening a file read-only', describe(fd), (host) => host.reopenReadOnly(fd));
}

/**
 * Gives the file behind `fd` (an O_TMPFILE, or any file) the name `path`.
 * An existing `path` is never replaced: 'EEXIST' then, which for
 * content-addressed objects means "already stored".
 */
export function linkTmpfile(fd: number, path: PathArg): Promise<void> {
  return hostCall('linking a file into place', `${describe(fd)} → ${describe(path)}`, (host) => host.linkTmpfile(fd, path));
}

/**
 * A hard link `to` of `from` (a symlink `from` is linked itself, not its
 * target). 'EEXIST', 'EXDEV' across file systems, 'EPERM' where
 * fs.protected_hardlinks forbids linking a file the caller does not own.
 */
export function linkFile(from: PathArg, to: PathArg): Promise<void> {
  return hostCall('hard-linking a file', `${describe(from)} → ${describe(to)}`, (host) => host.linkFile(from, to));
}

/** Renames `from` to `to` unless `to` exists ('EEXIST'; `to` untouched). */
export function renameNoReplace(from: PathArg, to: PathArg): Promise<void> {
  return hostCall('renaming without replacing', `${describe(from)} → ${describe(to)}`, (host) => host.renameNoReplace(from, to));
}

/** Writes out everything of the file system that `fd` lives on. */
export function syncfs(fd: number): Promise<void> {
  return hostCall('syncing a file system', describe(fd), (host) => host.syncfs(fd));
}

/** fsync(2) on the libuv pool; unlike fs.fsync it is typed like the rest. */
export function fsyncFd(fd: number): Promise<void> {
  return hostCall('syncing a file', describe(fd), (host) => host.fsyncFd(fd));
}
