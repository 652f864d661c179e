/**
 * The composefs tree of an OCI image, as composefs-rs's
 * `create_filesystem` builds it: every layer stream, base first, fed
 * chunk by chunk into the wasm core's image builder (object contents are
 * never read), then `transform_for_oci`; with `bootable`, composefs-boot's
 * `transform_for_boot` as well, reading only the SELinux policy files the
 * core asks for. Also what `cfsctl oci compute-id` and `oci dump` print.
 */
import { type SuppliedObject, type Tree, oci, withInput } from '../core/index.js';
import { InputError, IntegrityError, inContext, systemError } from '../../common/index.js';
import { digestBytes } from '../fsverity/index.js';
import { pipeBlob, takeBlob, type ImageId } from '../image/index.js';
import { type Repository, toObjectId } from '../repository/index.js';
import { CONTENT_TYPES } from '../splitstream/index.js';
import { openImageStreams, type ImageStreams } from './image-open.js';

export interface ImageTreeOptions {
  /** Apply the boot transformation (`--bootable`). */
  readonly bootable?: boolean;
}

/** SELinux policy files are text of a few MiB at most; more is damage. */
const MAX_POLICY_FILE = 64 << 20;
/** Config, then the policy files: two rounds of asking are all there can be. */
const MAX_BOOT_ROUNDS = 3;

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

/** The whole content of object `id`, which must be `size` bytes. */
async function readObject(repo: Repository, id: string, size: number, input: string): Promise<Uint8Array> {
  if (size > MAX_POLICY_FILE) throw new InputError(input, `is ${size} bytes; SELinux policy files over ${MAX_POLICY_FILE} bytes are refused`);
  const handle = await repo.streams.openObject(id, false);
  try {
    let data: Buffer;
    try {
      data = await handle.readFile();
    } catch (err) {
      throw systemError(err, `object ${id}`, 'read');
    }
    if (data.length !== size) throw new IntegrityError(`object ${id}`, `is ${data.length} bytes, ${input} says ${size}`);
    return data;
  } finally {
    await handle.close();
  }
}

/**
 * composefs-boot's transformation of `tree`, in place; true when the
 * image's own SELinux policy relabelled it.
 */
export async function transformForBoot(repo: Repository, tree: Tree, input: string): Promise<boolean> {
  const supplied: SuppliedObject[] = [];
  for (let round = 0; round < MAX_BOOT_ROUNDS; round++) {
    const step = withInput(input, () => oci.transformForBoot(tree, supplied));
    if (step.tag === 'done') return step.val;
    for (const need of step.val) {
      const path = `${input}: ${Buffer.from(need.path).toString('latin1')}`;
      supplied.push({ objectId: need.objectId, data: await readObject(repo, toObjectId(need.objectId), Number(need.size), path) });
    }
  }
  throw new InputError(input, 'the boot transformation kept asking for more SELinux policy files');
}

/** The tree of an opened image; the caller disposes it. */
export async function buildImageTree(repo: Repository, image: ImageStreams, options: ImageTreeOptions = {}): Promise<Tree> {
  const label = imageLabel(image);
  if (!image.isContainerImage) throw new InputError(label, 'is not a container image (its config is not an OCI or Docker image config)');
  const builder = new oci.ImageBuilder(repo.hashAlg);
  let tree: Tree;
  try {
    for (const diffId of image.diffIds) await feedLayer(repo, builder, image, diffId);
    tree = withInput(label, () => builder.finish());
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
export function computeOciImageId(repo: Repository, name: string, options: ImageTreeOptions = {}): Promise<ImageId> {
  return withImageTree(repo, name, options, (tree, image) => {
    const digest = withInput(imageLabel(image), () => tree.imageId());
    return { hashAlg: repo.hashAlg, digest, hex: Buffer.from(digest).toString('hex') };
  });
}

/** The EROFS image of the image `name`, with its ID. */
export function createOciImage(repo: Repository, name: string, options: ImageTreeOptions = {}): Promise<ImageId & { readonly bytes: Buffer }> {
  return withImageTree(repo, name, options, (tree, image) => {
    const bytes = withInput(imageLabel(image), () => takeBlob(tree.writeImage()));
    const digest = digestBytes(bytes, { hashAlg: repo.hashAlg });
    return { hashAlg: repo.hashAlg, digest, hex: Buffer.from(digest).toString('hex'), bytes };
  });
}

/** `cfsctl oci dump`: the dumpfile of the image's tree, to `write`. */
export function writeOciDumpfile(repo: Repository, name: string, write: (chunk: Uint8Array) => Promise<void>, options: ImageTreeOptions = {}): Promise<void> {
  return withImageTree(repo, name, options, (tree) => pipeBlob(tree.dumpfile(), write));
}
