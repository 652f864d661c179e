/**
 * File operations confined beneath a directory descriptor (src/beneath.cc):
 * every path is resolved with openat2's RESOLVE_BENEATH and, unless a
 * caller allows symlinks that stay beneath, RESOLVE_NO_SYMLINKS (on kernels
 * without openat2, an equivalent O_NOFOLLOW walk). A directory replaced by
 * a symlink, before a call or during it, makes the call fail (ELOOP,
 * EXDEV); it never sends the operation elsewhere. Paths are relative.
 */
import { describe, hostCall } from './call.js';
import { errnoOf } from '../common/index.js';
import { nativeHost, toSystemError, type PathArg } from './native.js';

declare module './native.js' {
  interface NativeHost {
    openBeneath(dirFd: number, rel: PathArg, flags: number, mode: number, symlinks: boolean): Promise<number>;
    openBeneathSync(dirFd: number, rel: PathArg, flags: number, symlinks: boolean): number;
    mkdirsBeneath(dirFd: number, rel: PathArg, mode: number): Promise<void>;
    symlinkBeneath(target: PathArg, dirFd: number, rel: PathArg): Promise<void>;
    renameBeneath(dirFd: number, from: PathArg, to: PathArg, noReplace: boolean): Promise<void>;
    linkFdBeneath(fd: number, dirFd: number, rel: PathArg): Promise<void>;
    unlinkBeneath(dirFd: number, rel: PathArg, directory: boolean): Promise<void>;
    readlinkBeneath(dirFd: number, rel: PathArg): Promise<Buffer>;
  }
}

/** Opens `rel` ('' for the directory itself) beneath `dirFd`; `symlinks` allows those that stay beneath. */
export function openBeneath(dirFd: number, rel: PathArg, flags: number, options: { mode?: number; symlinks?: boolean } = {}): Promise<number> {
  return hostCall('opening a file beneath a directory', describe(rel), (host) => host.openBeneath(dirFd, rel, flags, options.mode ?? 0, options.symlinks ?? false));
}

/**
 * The same on this thread (microseconds for a cached file): for opening a
 * great many small files. Throws a SystemError.
 */
export function openBeneathSync(dirFd: number, rel: PathArg, flags: number, options: { symlinks?: boolean } = {}): number {
  const host = nativeHost('opening a file beneath a directory');
  try {
    return host.openBeneathSync(dirFd, rel, flags, options.symlinks ?? false);
  } catch (err) {
    throw errnoOf(err) === undefined ? err : toSystemError(err, describe(rel));
  }
}

/** Makes each missing directory of `rel`; an existing one must be a real directory. */
export function mkdirsBeneath(dirFd: number, rel: PathArg, mode: number): Promise<void> {
  return hostCall('making directories beneath a directory', describe(rel), (host) => host.mkdirsBeneath(dirFd, rel, mode));
}

/** A new symlink `rel` → `target` ('EEXIST' if the name is taken). */
export function symlinkBeneath(target: PathArg, dirFd: number, rel: PathArg): Promise<void> {
  return hostCall('making a symlink beneath a directory', describe(rel), (host) => host.symlinkBeneath(target, dirFd, rel));
}

/** Renames `from` to `to`, both beneath `dirFd`; with `noReplace`, 'EEXIST' rather than replacing. */
export function renameBeneath(dirFd: number, from: PathArg, to: PathArg, noReplace = false): Promise<void> {
  return hostCall('renaming beneath a directory', `${describe(from)} → ${describe(to)}`, (host) => host.renameBeneath(dirFd, from, to, noReplace));
}

/** Names the file behind `fd` (an O_TMPFILE, say) `rel`; 'EEXIST' if taken. */
export function linkFdBeneath(fd: number, dirFd: number, rel: PathArg): Promise<void> {
  return hostCall('linking a file into place beneath a directory', describe(rel), (host) => host.linkFdBeneath(fd, dirFd, rel));
}

export function unlinkBeneath(dirFd: number, rel: PathArg, directory = false): Promise<void> {
  return hostCall('removing beneath a directory', describe(rel), (host) => host.unlinkBeneath(dirFd, rel, directory));
}

/** A symlink's target ('EINVAL' if `rel` is not a symlink). */
export function readlinkBeneath(dirFd: number, rel: PathArg): Promise<Buffer> {
  return hostCall('reading a symlink beneath a directory', describe(rel), (host) => host.readlinkBeneath(dirFd, rel));
}
