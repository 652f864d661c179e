/**
 * A directory scan's extended attributes: every one the caller may read,
 * a symlink's own (llistxattr/lgetxattr through the addon, as composefs-rs
 * reads them). Without the addon none are read, and cfskit says so once.
 */
import { hostAvailability, readXattrs } from '../../host-bindings/index.js';

export interface RawXattr {
  readonly name: Buffer;
  readonly value: Buffer;
}

/** The xattrs of one entry, by its path. */
export type XattrReader = (path: Buffer) => RawXattr[];

let warned = false;

export function xattrReader(): XattrReader {
  const host = hostAvailability();
  if (host.available) return readXattrs;
  if (!warned) {
    warned = true;
    process.emitWarning(`extended attributes are not read without the system-call addon (${host.reason}); images made now have none`, {
      code: 'CFSKIT_NO_XATTRS',
    });
  }
  return () => [];
}
