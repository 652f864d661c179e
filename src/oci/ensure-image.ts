/**
 * The composefs image of an imported OCI image, kept as composefs-rs keeps
 * it (`ensure_oci_composefs_erofs`, `…_boot`): the EROFS image is stored
 * and linked under images/ (no name), then the config stream is written
 * again with a `composefs.image` (or `composefs.image.boot`) named ref to
 * it — the other image ref preserved — and the manifest stream again with
 * its `config:<digest>` ref naming the new config stream; the tag, if
 * given, is pointed at the manifest. Garbage collection then keeps the
 * image alive through tag → manifest → config.
 *
 * composefs-rs adds the layer refs from a hash map, so their order in the
 * rewritten streams' stream_refs arrays (and so the streams' object IDs)
 * changes from run to run when an image has several layers; cfskit writes
 * them in rootfs.diff_ids order, which is also the order of the streams
 * both tools write at import. Everything else is byte for byte the same.
 */
import { withInput } from '../core/index.js';
import { InputError } from '../../common/index.js';
import { takeBlob } from '../image/index.js';
import type { Repository, ObjectId } from '../repository/index.js';
import { sha256Digest, manifestContentId, tagRef } from './identifiers.js';
import { BOOT_IMAGE_REF, IMAGE_REF, openImageStreams, type ImageStreams } from './image-open.js';
import { writeConfigStream, writeManifestStream, type LayerRef } from './image-streams.js';
import { buildImageTree } from './image-tree.js';

export interface EnsureImageOptions {
  /** The bootable variant (`composefs.image.boot`) instead of the plain one. */
  readonly bootable?: boolean;
  /** Point this tag at the image's manifest once done. */
  readonly tag?: string;
}

export interface EnsuredImage {
  /** The EROFS image's object ID: its image ID. */
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

/**
 * Rewrites the config and manifest streams of `image` with these image
 * refs; returns the new stream IDs. `layers` gives the layer refs' order.
 */
export async function rewriteImageStreams(
  repo: Repository,
  image: ImageStreams,
  refs: { readonly image: ObjectId | undefined; readonly boot: ObjectId | undefined },
  layers: readonly LayerRef[] = orderedLayerRefs(image),
): Promise<{ configStream: ObjectId; manifestStream: ObjectId }> {
  if (sha256Digest(image.configJson) !== image.configDigest) {
    throw new InputError(`config ${image.configDigest}`, `its stream holds JSON whose digest is ${sha256Digest(image.configJson)}`);
  }
  const extra = new Map<string, ObjectId>();
  if (refs.image !== undefined) extra.set(IMAGE_REF, refs.image);
  if (refs.boot !== undefined) extra.set(BOOT_IMAGE_REF, refs.boot);
  const configStream = await writeConfigStream(repo, image.configJson, image.configDigest, layers, extra);
  const config = { digest: image.configDigest, streamId: configStream };
  const manifestStream = await writeManifestStream(repo, image.manifestJson, image.manifestDigest, config, layers);
  return { configStream, manifestStream };
}

/**
 * Makes sure the image `name` (a tag or `@DIGEST`) has its composefs
 * image, making it if the config stream names none yet. Undefined for an
 * artifact (not a container image), as composefs-rs does.
 */
export async function ensureImage(repo: Repository, name: string, options: EnsureImageOptions = {}): Promise<EnsuredImage | undefined> {
  const image = await openImageStreams(repo, name);
  if (!image.isContainerImage) return undefined;
  const bootable = options.bootable === true;
  const existing = bootable ? image.bootImageRef : image.imageRef;
  let result: EnsuredImage;
  if (existing !== undefined) {
    result = { imageId: existing, created: false, manifestDigest: image.manifestDigest, manifestStream: image.manifestStream, configStream: image.configStream };
  } else {
    const tree = await buildImageTree(repo, image, { bootable });
    let bytes: Buffer;
    try {
      bytes = withInput(`image @${image.manifestDigest}`, () => takeBlob(tree.writeImage()));
    } finally {
      tree[Symbol.dispose]();
    }
    const stored = await repo.images.write(bytes);
    const refs = bootable ? { image: image.imageRef, boot: stored.id } : { image: stored.id, boot: image.bootImageRef };
    const streams = await rewriteImageStreams(repo, image, refs);
    result = { imageId: stored.id, created: true, manifestDigest: image.manifestDigest, ...streams };
  }
  if (options.tag !== undefined) await repo.streams.setRef(tagRef(options.tag), manifestContentId(image.manifestDigest));
  return result;
}
