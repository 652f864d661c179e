/**
 * The kernel argument that names a composefs boot image, as composefs-boot
 * 0.9 writes it (`ComposefsCmdline::to_cmdline_arg`): V0/V1 images as
 * `composefs.digest=v1-<hash>-12:<hex>`, V2 images as the legacy
 * `composefs=<hex>`; a `?` before the value makes fs-verity optional.
 */
import type { ImageId } from './compute.js';
import { compactLayout, type ErofsVersion } from '../../common/index.js';

export function kernelArgument(id: ImageId, version: ErofsVersion, insecure = false): string {
  const optional = insecure ? '?' : '';
  if (compactLayout(version)) return `composefs.digest=${optional}v1-${id.hashAlg}-12:${id.hex}`;
  return `composefs=${optional}${id.hex}`;
}
