/**
 * The composefs images of an imported OCI image, kept as composefs-rs 0.9
 * keeps them (`ensure_oci_composefs_erofs`, `…_boot`): the image is made
 * in each of the repository's EROFS formats, stored and linked under
 * images/ (no name), then the config stream is written again with a named
 * ref to each (`composefs.image.v1`, `composefs.image.boot`, … see
 * image-refs.ts) — every other image ref preserved — and the manifest
 * stream again with its `config:<digest>` ref naming the new config
 * stream; the tag, if given, is pointed at the manifest. Garbage
 * collection then keeps the images alive through tag → manifest → config.
 *
 * composefs-rs adds the layer refs (and boot image refs) from hash maps,
 * so their order in the rewritten streams' stream_refs arrays (and so the
 * streams' object IDs) changes from run to run when an image has several
 * layers; cfskit writes the layers in rootfs.diff_ids order, which is also
 * the order of the streams both tools write at import, then
 * `composefs.image`, `composefs.image.v1` and the other image refs by
 * name. Everything else is byte for byte the same.
 */
import { withInput } from '../core/index.js';
import { DEFAULT_XATTR_MODE, InputError, erofsFormat, type ErofsVersion, type XattrMode } from '../../common/index.js';
import { takeBlob } from '../image/index.js';
import type { Repository, ObjectId } from '../repository/index.js';
import { sha256Digest, manifestContentId, tagRef } from './identifiers.js';
import { imageRefOf, openImageStreams, type ImageStreams } from './image-open.js';
import { IMAGE_REF_PREFIX, imageRefName, imageVariant } from './image-refs.js';
import { writeConfigStream, writeManifestStream, type LayerRef } from './image-streams.js';
import { buildImageTree } from './image-tree.js';

export interface EnsureImageOptions {
  /** The bootable variant (`composefs.image.boot…`) instead of the plain one. */
  readonly bootable?: boolean;
  /** Which xattrs survive (default allowlist-only). */
  readonly xattrs?: XattrMode;
  /** Point this tag at the image's manifest once done. */
  readonly tag?: string;
}

export interface EnsuredImage {
  /** The EROFS image's object ID (the repository's default format): its image ID. */
  readonly imageId: ObjectId;
  /** False when the config stream already named an image (nothing written). */
  readonly created: boolean;
  readonly manifestDigest: string;
  readonly manifestStream: ObjectId;
  readonly configStream: ObjectId;
}

/** The config's layer refs, in rootfs.diff_ids order, then any other named ref by name. */
export function orderedLayerRefs(image: ImageStreams): LayerRef[] {
  const refs: LayerRef[] = [];
  const seen = new Set<string>();
  for (const diffId of [...image.diffIds, ...[...image.layerRefs.keys()].sort()]) {
    const streamId = image.layerRefs.get(diffId);
    if (streamId === undefined || seen.has(diffId)) continue;
    seen.add(diffId);
    refs.push({ diffId, streamId });
  }
  return refs;
}

/** composefs-rs's order: the two plain refs it writes first, then the rest by name. */
function orderedImageRefs(refs: ReadonlyMap<string, ObjectId>): Map<string, ObjectId> {
  const first = [IMAGE_REF_PREFIX, `${IMAGE_REF_PREFIX}.v1`];
  const names = [...first.filter((n) => refs.has(n)), ...[...refs.keys()].filter((n) => !first.includes(n)).sort()];
  return new Map(names.map((n) => [n, refs.get(n) as ObjectId]));
}

/**
 * Rewrites the config and manifest streams of `image` with these image
 * refs (all of them: the ones to keep too); returns the new stream IDs.
 * `layers` gives the layer refs' order.
 */
export async function rewriteImageStreams(
  repo: Repository,
  image: ImageStreams,
  imageRefs: ReadonlyMap<string, ObjectId>,
  layers: readonly LayerRef[] = orderedLayerRefs(image),
): Promise<{ configStream: ObjectId; manifestStream: ObjectId }> {
  if (sha256Digest(image.configJson) !== image.configDigest) {
    throw new InputError(`config ${image.configDigest}`, `its stream holds JSON whose digest is ${sha256Digest(image.configJson)}`);
  }
  const configStream = await writeConfigStream(repo, image.configJson, image.configDigest, layers, orderedImageRefs(imageRefs));
  const config = { digest: image.configDigest, streamId: configStream };
  const manifestStream = await writeManifestStream(repo, image.manifestJson, image.manifestDigest, config, layers);
  return { configStream, manifestStream };
}

/**
 * The refs that name images made in `versions` (a V0 image takes the V1
 * name unless a V1 image was made too).
 */
export function refsFor(made: ReadonlyMap<ErofsVersion, ObjectId>, bootable: boolean, xattrs: XattrMode): Map<string, ObjectId> {
  const refs = new Map<string, ObjectId>();
  for (const [version, id] of made) {
    if (version === 0 && made.has(1)) continue;
    refs.set(imageRefName(imageVariant(version, bootable, xattrs)), id);
  }
  return refs;
}

/**
 * Makes sure the image `name` (a tag or `@DIGEST`) has its composefs
 * image for the repository's format, making it (in every format the
 * repository makes) if the config stream names none yet. Undefined for an
 * artifact (not a container image), as composefs-rs does.
 */
export async function ensureImage(repo: Repository, name: string, options: EnsureImageOptions = {}): Promise<EnsuredImage | undefined> {
  const image = await openImageStreams(repo, name);
  if (!image.isContainerImage) return undefined;
  const bootable = options.bootable === true;
  const xattrs = options.xattrs ?? DEFAULT_XATTR_MODE;
  const existing = imageRefOf(image, imageVariant(repo.erofsVersion, bootable, xattrs));
  let result: EnsuredImage;
  if (existing !== undefined) {
    result = { imageId: existing, created: false, manifestDigest: image.manifestDigest, manifestStream: image.manifestStream, configStream: image.configStream };
  } else {
    const tree = await buildImageTree(repo, image, { bootable, xattrs });
    let images: [ErofsVersion, Buffer][];
    try {
      images = repo.erofsVersions.map((v) => [v, withInput(`image @${image.manifestDigest}`, () => takeBlob(tree.writeImage(erofsFormat(v))))]);
    } finally {
      tree[Symbol.dispose]();
    }
    const made = new Map<ErofsVersion, ObjectId>();
    for (const [version, bytes] of images) made.set(version, (await repo.images.write(bytes)).id);
    const refs = new Map(image.imageRefs);
    for (const [ref, id] of refsFor(made, bootable, xattrs)) refs.set(ref, id);
    const streams = await rewriteImageStreams(repo, image, refs);
    result = { imageId: made.get(repo.erofsVersion) as ObjectId, created: true, manifestDigest: image.manifestDigest, ...streams };
  }
  if (options.tag !== undefined) await repo.streams.setRef(tagRef(options.tag), manifestContentId(image.manifestDigest));
  return result;
}
