/**
 * Mounting an OCI image by tag or manifest digest: its composefs image is
 * the one the config stream names for the repository's EROFS format
 * (`composefs.image.v1`, or `composefs.image.boot.v1` for the bootable
 * variant, in a V1 repository; see oci/image-refs.ts). An image imported before
 * that ref existed, or never made bootable, gets it made first — the same
 * idempotent step a pull ends with — so the mount never depends on how the
 * image arrived.
 */
import { UsageError, type XattrMode } from '../../common/index.js';
import { ensureImage } from '../oci/index.js';
import type { Repository } from '../repository/index.js';
import { mountImage, requireRoot, type MountedImage, type MountOptions } from './composefs.js';

export interface OciMountOptions extends MountOptions {
  readonly bootable?: boolean;
  /** The image made with this xattr mode (default allowlist-only). */
  readonly xattrs?: XattrMode;
}

export async function mountOciImage(repo: Repository, name: string, mountpoint: string, options: OciMountOptions = {}): Promise<MountedImage> {
  requireRoot(`mounting ${name}`);
  const ensured = await ensureImage(repo, name, { bootable: options.bootable === true, xattrs: options.xattrs });
  if (ensured === undefined) throw new UsageError(`${name}: is an OCI artifact, not a container image; it has no filesystem to mount`);
  return mountImage(repo, ensured.imageId, mountpoint, options);
}
