/**
 * The choices that decide a composefs image's bytes, as composefs-rs 0.9
 * names them: the EROFS format version (`--erofs-version 0|1|2`) and which
 * xattrs the container transformation keeps (`--xattrs MODE`).
 */
import { UsageError } from './errors.js';

/**
 * 0: C mkcomposefs's default layout; 1: the same with composefs_version 1
 * (composefs-rs 0.9's default for new repositories); 2: composefs-rs's
 * original layout (extended inodes, whole-second mtimes).
 */
export type ErofsVersion = 0 | 1 | 2;
export const EROFS_VERSIONS: readonly ErofsVersion[] = [0, 1, 2];
/** What a repository without `erofs_formats` in meta.json uses. */
export const LEGACY_EROFS_VERSION: ErofsVersion = 2;
/** composefs-rs 0.9's `FormatVersion::default()`. */
export const DEFAULT_EROFS_VERSION: ErofsVersion = 1;
/** The versions a boot image is searched in (`FormatVersion::BOOT_VERSIONS`). */
export const BOOT_EROFS_VERSIONS: readonly ErofsVersion[] = [1, 2];

/** The wasm core's name for a version. */
export type ErofsFormat = 'v0' | 'v1' | 'v2';
export const erofsFormat = (version: ErofsVersion): ErofsFormat => `v${version}`;

/** V0 and V1 share one layout (composefs-rs's "epoch 1"). */
export const compactLayout = (version: ErofsVersion): boolean => version !== 2;

export function parseErofsVersion(value: string, what = '--erofs-version'): ErofsVersion {
  if (value === '0' || value === '1' || value === '2') return Number(value) as ErofsVersion;
  throw new UsageError(`${what} "${value}" is not an EROFS format version (0, 1 or 2)`);
}

/** composefs-rs `XattrFiltering`, spelled as cfsctl's `--xattrs` takes it. */
export type XattrMode = 'allowlist-only' | 'keep-user-xattrs';
/** In composefs-rs's order of preference, the default first. */
export const XATTR_MODES: readonly XattrMode[] = ['allowlist-only', 'keep-user-xattrs'];
export const DEFAULT_XATTR_MODE: XattrMode = 'allowlist-only';

export function parseXattrMode(value: string): XattrMode {
  if ((XATTR_MODES as readonly string[]).includes(value)) return value as XattrMode;
  throw new UsageError(`invalid xattr filtering mode "${value}" (expected ${XATTR_MODES.map((m) => `"${m}"`).join(' or ')})`);
}
