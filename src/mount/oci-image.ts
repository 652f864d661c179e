/**
 * Mounting an OCI image by tag or manifest digest: its composefs image is
 * the one the config stream names (`composefs.image`, or
 * `composefs.image.boot` for the bootable variant). An image imported before
 * that ref existed, or never made bootable, gets it made first — the same
 * idempotent step a pull ends with — so the mount never depends on how the
 * image arrived.
 */
import { UsageError } from '../../common/index.js';
import { ensureImage } from '../oci/index.js';
import type { Repository } from '../repository/index.js';
import { mountImage, requireRoot, type MountedImage, type MountOptions } from './composefs.js';

export interface OciMountOptions extends MountOptions {
  readonly bootable?: boolean;
}

export async function mountOciImage(repo: Repository, name: string, mountpoint: string, options: OciMountOptions = {}): Promise<MountedImage> {
  requireRoot(`mounting ${name}`);
  const ensured = await ensureImage(repo, name, { bootable: options.bootable === true });
  if (ensured === undefined) throw new UsageError(`${name}: is an OCI artifact, not a container image; it has no filesystem to mount`);
  return mountImage(repo, ensured.imageId, mountpoint, options);
}
