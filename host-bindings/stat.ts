/** statx(2): identity, links, ownership and size of a file, without opening it. */
import { describe, hostCall } from './call.js';
import type { Target } from './native.js';

/** What statx reports; 64-bit quantities are bigints so none is rounded. */
export interface Statx {
  /** makedev(devMajor, devMinor): equal to fs.lstat's `dev` (bigint form). */
  readonly dev: bigint;
  readonly devMajor: number;
  readonly devMinor: number;
  readonly ino: bigint;
  readonly nlink: number;
  /** File type and permission bits, as st_mode. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: bigint;
  /** 512-byte blocks allocated: less than size/512 for sparse or shared files. */
  readonly blocks: bigint;
  readonly mtimeSec: bigint;
  readonly mtimeNsec: number;
  /** STATX_ATTR_* bits (e.g. 0x10 immutable, 0x20 append-only, 0x100000 fs-verity). */
  readonly attributes: bigint;
}

declare module './native.js' {
  interface NativeHost {
    statx(target: Target): Promise<Statx>;
  }
}

/**
 * statx of a path (its final symlink not followed, like lstat) or of an
 * open fd.
 */
export function statx(target: Target): Promise<Statx> {
  return hostCall('reading file status (statx)', describe(target), (host) => host.statx(target));
}
