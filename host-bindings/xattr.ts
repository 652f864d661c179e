/** Extended attributes of a file (llistxattr/lgetxattr: a symlink's own). */
import { errnoOf } from '../common/index.js';
import { describe } from './call.js';
import { nativeHost, toSystemError, type PathArg } from './native.js';

export interface HostXattr {
  /** Raw bytes ("security.capability", "user.…"). */
  readonly name: Buffer;
  readonly value: Buffer;
}

declare module './native.js' {
  interface NativeHost {
    readXattrs(path: PathArg): HostXattr[];
  }
}

/**
 * Every extended attribute of `path` the caller may read, in the kernel's
 * order; none where the file system has none. Synchronous (one
 * llistxattr, most often returning nothing): a directory scan calls it for
 * every entry from its synchronous walk.
 */
export function readXattrs(path: PathArg): HostXattr[] {
  const host = nativeHost('reading extended attributes (llistxattr)');
  try {
    return host.readXattrs(path);
  } catch (err) {
    throw errnoOf(err) === undefined ? err : toSystemError(err, describe(path));
  }
}
