/**
 * composefs-rs's `find_matching_boot_image` (`cfsctl oci pull --bootable
 * --expected-digest`): which xattr mode and EROFS format gave the boot
 * image a UKI or kernel command line names. Modes are tried in order, the
 * default first; for each, the boot images the config already names, then
 * — building the tree once — the formats not named yet. A match found by
 * building is stored and named like any boot image of that mode and
 * format.
 */
import { BOOT_EROFS_VERSIONS, XATTR_MODES, erofsFormat, type ErofsVersion, type XattrMode } from '../../common/index.js';
import { withInput } from '../core/index.js';
import { digestBytes } from '../fsverity/index.js';
import { takeBlob } from '../image/index.js';
import { toObjectId, type ObjectId, type Repository } from '../repository/index.js';
import { rewriteImageStreams } from './ensure-image.js';
import { imageRefOf, openImageStreams } from './image-open.js';
import { imageRefName, imageVariant } from './image-refs.js';
import { buildImageTree } from './image-tree.js';

export type BootImageMatch =
  | { readonly found: true; readonly xattrs: XattrMode; readonly erofsVersion: ErofsVersion; readonly imageId: ObjectId }
  | { readonly found: false; readonly tried: number };

export async function findMatchingBootImage(repo: Repository, manifestDigest: string, expected: ObjectId): Promise<BootImageMatch> {
  let tried = 0;
  for (const xattrs of XATTR_MODES) {
    const image = await openImageStreams(repo, `@${manifestDigest}`);
    const missing: ErofsVersion[] = [];
    for (const version of BOOT_EROFS_VERSIONS) {
      const named = imageRefOf(image, imageVariant(version, true, xattrs));
      if (named === expected) return { found: true, xattrs, erofsVersion: version, imageId: named };
      if (named === undefined) missing.push(version);
      else tried++;
    }
    if (missing.length === 0) continue;
    const tree = await buildImageTree(repo, image, { bootable: true, xattrs });
    try {
      for (const version of missing) {
        const bytes = withInput(`image @${manifestDigest}`, () => takeBlob(tree.writeImage(erofsFormat(version))));
        if (toObjectId(digestBytes(bytes, { hashAlg: repo.hashAlg })) !== expected) {
          tried++;
          continue;
        }
        const stored = await repo.images.write(bytes);
        const refs = new Map(image.imageRefs).set(imageRefName(imageVariant(version, true, xattrs)), stored.id);
        await rewriteImageStreams(repo, image, refs);
        return { found: true, xattrs, erofsVersion: version, imageId: stored.id };
      }
    } finally {
      tree[Symbol.dispose]();
    }
  }
  return { found: false, tried };
}
