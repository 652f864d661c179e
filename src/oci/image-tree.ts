/**
 * The composefs tree of an OCI image, as composefs-rs's
 * `create_filesystem` builds it: every layer stream, base first, fed
 * chunk by chunk into the wasm core's image builder (object contents are
 * never read), then `transform_for_oci` (xattrs filtered by `xattrs`);
 * with `bootable`, composefs-boot's `transform_for_boot` as well, reading
 * only the SELinux policy files the core asks for. Also what `cfsctl oci
 * compute-id` and `oci dump` print.
 */
import { type Tree, oci, withInput } from '../core/index.js';
import { DEFAULT_XATTR_MODE, InputError, IntegrityError, erofsFormat, inContext, systemError, type ErofsVersion, type XattrMode } from '../../common/index.js';
import { digestBytes } from '../fsverity/index.js';
import { pipeBlob, takeBlob, transformTreeForBoot, type ImageId } from '../image/index.js';
import { type Repository, toObjectId } from '../repository/index.js';
import { CONTENT_TYPES } from '../splitstream/index.js';
import { openImageStreams, type ImageStreams } from './image-open.js';

export interface ImageTreeOptions {
  /** Apply the boot transformation (`--bootable`). */
  readonly bootable?: boolean;
  /** Which xattrs survive (`--xattrs`; default allowlist-only). */
  readonly xattrs?: XattrMode;
}

export interface ImageBytesOptions extends ImageTreeOptions {
  /** Default: the repository's format. */
  readonly erofsVersion?: ErofsVersion;
}

const imageLabel = (image: ImageStreams): string => `image @${image.manifestDigest}`;

/**
 * The layer's stream, which must be a layer stream: errors about the
 * stream itself (wrong content type, damaged header) name the layer too,
 * since the stream's object ID alone does not say which layer it is.
 */
async function openLayerStream(repo: Repository, streamId: string, label: string): ReturnType<Repository['streams']['open']> {
  try {
    return await repo.streams.open(streamId, { contentType: CONTENT_TYPES.ociLayer });
  } catch (err) {
    if (err instanceof InputError || err instanceof IntegrityError) throw inContext(err, label);
    throw err;
  }
}

async function feedLayer(repo: Repository, builder: InstanceType<typeof oci.ImageBuilder>, image: ImageStreams, diffId: string): Promise<void> {
  const streamId = image.layerRefs.get(diffId);
  if (streamId === undefined) {
    throw new InputError(`config ${image.configDigest}`, `its stream has no named ref to layer ${diffId}`);
  }
  const label = `layer ${diffId}`;
  const stream = await openLayerStream(repo, streamId, label);
  try {
    // The core decodes the stream section: a few calls per layer, not one
    // per chunk (a layer of thousands of files has as many objects).
    const { objectRefs, streamSize } = stream.reader.info;
    withInput(label, () => builder.beginLayer([...objectRefs], streamSize));
    for await (const piece of stream.reader.compressed()) withInput(label, () => builder.feed(piece));
    withInput(label, () => builder.endLayer());
  } finally {
    await stream.close();
  }
}

/**
 * composefs-boot's transformation of `tree`, in place, its policy files
 * read from the repository; true when the image's own SELinux policy
 * relabelled it.
 */
export function transformForBoot(repo: Repository, tree: Tree, input: string): Promise<boolean> {
  return transformTreeForBoot(tree, input, async (need, path) => {
    const id = toObjectId(need.objectId);
    const handle = await repo.streams.openObject(id, false);
    try {
      let data: Buffer;
      try {
        data = await handle.readFile();
      } catch (err) {
        throw systemError(err, `object ${id}`, 'read');
      }
      if (data.length !== Number(need.size)) throw new IntegrityError(`object ${id}`, `is ${data.length} bytes, ${path} says ${need.size}`);
      return data;
    } finally {
      await handle.close();
    }
  });
}

/** The tree of an opened image; the caller disposes it. */
export async function buildImageTree(repo: Repository, image: ImageStreams, options: ImageTreeOptions = {}): Promise<Tree> {
  const label = imageLabel(image);
  if (!image.isContainerImage) throw new InputError(label, 'is not a container image (its config is not an OCI or Docker image config)');
  const builder = new oci.ImageBuilder(repo.hashAlg);
  let tree: Tree;
  try {
    for (const diffId of image.diffIds) await feedLayer(repo, builder, image, diffId);
    tree = withInput(label, () => builder.finish(options.xattrs ?? DEFAULT_XATTR_MODE));
  } finally {
    builder[Symbol.dispose]();
  }
  try {
    if (options.bootable) await transformForBoot(repo, tree, label);
    return tree;
  } catch (err) {
    tree[Symbol.dispose]();
    throw err;
  }
}

async function withImageTree<T>(repo: Repository, name: string, options: ImageTreeOptions, body: (tree: Tree, image: ImageStreams) => Promise<T> | T): Promise<T> {
  const image = await openImageStreams(repo, name);
  const tree = await buildImageTree(repo, image, options);
  try {
    return await body(tree, image);
  } finally {
    tree[Symbol.dispose]();
  }
}

/** `cfsctl oci compute-id`: the image ID of the image `name` (a tag or `@DIGEST`). */
export function computeOciImageId(repo: Repository, name: string, options: ImageBytesOptions = {}): Promise<ImageId> {
  return withImageTree(repo, name, options, (tree, image) => {
    const digest = withInput(imageLabel(image), () => tree.imageId(erofsFormat(options.erofsVersion ?? repo.erofsVersion)));
    return { hashAlg: repo.hashAlg, digest, hex: Buffer.from(digest).toString('hex') };
  });
}

/** The EROFS image of the image `name`, with its ID. */
export function createOciImage(repo: Repository, name: string, options: ImageBytesOptions = {}): Promise<ImageId & { readonly bytes: Buffer }> {
  return withImageTree(repo, name, options, (tree, image) => {
    const bytes = withInput(imageLabel(image), () => takeBlob(tree.writeImage(erofsFormat(options.erofsVersion ?? repo.erofsVersion))));
    const digest = digestBytes(bytes, { hashAlg: repo.hashAlg });
    return { hashAlg: repo.hashAlg, digest, hex: Buffer.from(digest).toString('hex'), bytes };
  });
}

/** `cfsctl oci dump`: the dumpfile of the image's tree, to `write`. */
export function writeOciDumpfile(repo: Repository, name: string, write: (chunk: Uint8Array) => Promise<void>, options: ImageTreeOptions = {}): Promise<void> {
  return withImageTree(repo, name, options, (tree) => pipeBlob(tree.dumpfile(), write));
}
