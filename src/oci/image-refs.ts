/**
 * The named refs of a config stream that hold the composefs images made
 * from an OCI image, named as composefs-rs 0.9 names them
 * (`crates/composefs-oci/src/lib.rs`):
 *
 * | image | V2 | V0/V1 |
 * |---|---|---|
 * | plain | `composefs.image` | `composefs.image.v1` |
 * | bootable | `composefs.image.boot` | `composefs.image.boot.v1` |
 *
 * and, for a boot image made with a non-default xattr mode, the same name
 * with `.xattrs=<mode>` (`composefs.image.boot.v1.xattrs=keep-user-xattrs`).
 * composefs-rs makes plain images with the default mode only; cfskit names
 * a plain image made with another mode the same way
 * (`composefs.image.v1.xattrs=keep-user-xattrs`). cfsctl reads such a ref
 * as a layer ref and drops it when it rewrites the config stream, which
 * leaves the image to garbage collection; the image is made again when
 * next asked for.
 *
 * A V0 image is named like a V1 one: both share one layout, and cfsctl
 * looks a V0 repository's images up under the V1 names (its own pull fails
 * in a V0 repository: it finds no V1 image to name).
 */
import { DEFAULT_XATTR_MODE, XATTR_MODES, compactLayout, type ErofsVersion, type XattrMode } from '../../common/index.js';

/** The prefix every image ref shares (composefs-rs `IMAGE_REF_KEY`). */
export const IMAGE_REF_PREFIX = 'composefs.image';
/** Every boot image ref starts so (composefs-rs `take_boot_image_refs`). */
export const BOOT_IMAGE_REF_PREFIX = 'composefs.image.boot';

export interface ImageVariant {
  /** V0 and V1 share the `.v1` names; this is 1 or 2. */
  readonly layout: 1 | 2;
  readonly bootable: boolean;
  readonly xattrs: XattrMode;
}

export function imageVariant(version: ErofsVersion, bootable: boolean, xattrs: XattrMode = DEFAULT_XATTR_MODE): ImageVariant {
  return { layout: compactLayout(version) ? 1 : 2, bootable, xattrs };
}

/** The config stream's named ref for an image variant. */
export function imageRefName(variant: ImageVariant): string {
  let name = variant.bootable ? BOOT_IMAGE_REF_PREFIX : IMAGE_REF_PREFIX;
  if (variant.layout === 1) name += '.v1';
  if (variant.xattrs !== DEFAULT_XATTR_MODE) name += `.xattrs=${variant.xattrs}`;
  return name;
}

/** Every name `imageRefName` gives, one per variant. */
export function imageRefNames(): string[] {
  const names: string[] = [];
  for (const bootable of [false, true]) {
    for (const layout of [2, 1] as const) {
      for (const xattrs of XATTR_MODES) names.push(imageRefName({ layout, bootable, xattrs }));
    }
  }
  return names;
}

const NAME = /^composefs\.image(\.boot)?(\.v1)?(?:\.xattrs=(.+))?$/;

/** The variant an image ref names, or undefined for any other name. */
export function parseImageRefName(name: string): ImageVariant | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  // The default mode is never spelled out.
  if (m[3] === DEFAULT_XATTR_MODE) return undefined;
  const xattrs = m[3] ?? DEFAULT_XATTR_MODE;
  if (!(XATTR_MODES as readonly string[]).includes(xattrs)) return undefined;
  return { layout: m[2] ? 1 : 2, bootable: m[1] !== undefined, xattrs: xattrs as XattrMode };
}

/**
 * Whether a config stream's named ref holds a composefs image (an EROFS
 * object, not a stream): every variant above, and — so that what a later
 * composefs-rs adds stays alive — any name starting `composefs.image`.
 * Garbage collection follows these to images/ rather than streams/.
 */
export function isImageRefName(name: string): boolean {
  return name.startsWith(IMAGE_REF_PREFIX);
}
