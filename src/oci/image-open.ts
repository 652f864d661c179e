/**
 * An image's streams as composefs-rs's `OciImage::open` finds them: the
 * manifest stream (by tag or `@DIGEST`), then the config stream the
 * manifest's `config:<digest>` named ref points at — by object ID, not by
 * the `oci-config-…` link — and from the config stream's named refs the
 * layer streams (by diff_id) and the composefs images made from the image
 * (`composefs.image`, `composefs.image.boot`).
 */
import { InputError, NotFoundError } from '../../common/index.js';
import { type Repository, toObjectId, type ObjectId } from '../repository/index.js';
import { CONTENT_TYPES, reassemble } from '../splitstream/index.js';
import { parseConfig, parseManifest } from './documents.js';
import { manifestContentId } from './identifiers.js';
import { boundedDocumentSink, resolveImageName } from './images.js';

/** Named ref of the config stream holding the image's EROFS (composefs-rs IMAGE_REF_KEY). */
export const IMAGE_REF = 'composefs.image';
/** The same for the bootable variant (BOOT_IMAGE_REF_KEY). */
export const BOOT_IMAGE_REF = 'composefs.image.boot';
/**
 * Every named ref that holds a composefs image starts with this: the two
 * above, their `.v1` (EROFS format) variants and `.xattrs=<mode>` suffixes
 * (composefs-oci's `lib.rs`). Code that must keep or find every image of
 * a config (garbage collection) matches the prefix, not a list.
 */
export const IMAGE_REF_PREFIX = 'composefs.image';

export function isImageRefName(name: string): boolean {
  return name.startsWith(IMAGE_REF_PREFIX);
}

/** The only config media type composefs-rs treats as a container image. */
export const OCI_CONFIG_MEDIA_TYPE = 'application/vnd.oci.image.config.v1+json';
/**
 * Docker schema 2's config is the same document under another name.
 * composefs-rs 0.9 takes such an image, as stored from containers-storage,
 * for an artifact and makes no composefs image of it (through skopeo it
 * converts the manifest to OCI first but keeps the original digest as the
 * stream's name); cfskit keeps the bytes and makes the image.
 */
export const DOCKER_CONFIG_MEDIA_TYPE = 'application/vnd.docker.container.image.v1+json';

export interface ImageStreams {
  readonly manifestDigest: string;
  readonly manifestStream: ObjectId;
  readonly manifestJson: Buffer;
  readonly configDigest: string;
  /** The config stream the manifest names. */
  readonly configStream: ObjectId;
  readonly configJson: Buffer;
  /** False for artifacts (a config media type other than OCI's or Docker's image config). */
  readonly isContainerImage: boolean;
  /** rootfs.diff_ids, base layer first. */
  readonly diffIds: readonly string[];
  /** The config stream's named refs without the two image refs: diff_id → layer stream. */
  readonly layerRefs: ReadonlyMap<string, ObjectId>;
  readonly imageRef: ObjectId | undefined;
  readonly bootImageRef: ObjectId | undefined;
}

interface JsonStream {
  readonly id: ObjectId;
  readonly json: Buffer;
  readonly refs: Map<string, ObjectId>;
}

/** A small stream's bytes and named refs; `name` is a content ID or an object ID. */
async function readJsonStream(repo: Repository, name: string, contentType: bigint): Promise<JsonStream> {
  const stream = await repo.streams.open(name, { contentType });
  try {
    const out = boundedDocumentSink(name);
    await reassemble(stream.reader, (id) => repo.streams.openObject(toObjectId(id), false), out.sink);
    const refs = new Map([...stream.reader.info.namedRefs].map(([k, v]) => [k, toObjectId(v)]));
    return { id: stream.id, json: out.bytes(), refs };
  } finally {
    await stream.close();
  }
}

/** The image `name` (a tag or `@DIGEST`) names. */
export async function openImageStreams(repo: Repository, name: string): Promise<ImageStreams> {
  const manifestDigest = await resolveImageName(repo, name);
  const manifestName = manifestContentId(manifestDigest);
  if ((await repo.streams.has(manifestName)) === undefined) throw new NotFoundError(`@${manifestDigest}`, 'no such image in the repository');
  const manifest = await readJsonStream(repo, manifestName, CONTENT_TYPES.ociManifest);
  const parsed = parseManifest(manifest.json, manifestName);
  const configDigest = parsed.config.digest;
  const configStream = manifest.refs.get(`config:${configDigest}`);
  if (configStream === undefined) throw new InputError(manifestName, `has no named ref config:${configDigest} (manifest missing config reference)`);
  const config = await readJsonStream(repo, configStream, CONTENT_TYPES.ociConfig);
  const isContainerImage = parsed.config.mediaType === OCI_CONFIG_MEDIA_TYPE || parsed.config.mediaType === DOCKER_CONFIG_MEDIA_TYPE;
  const layerRefs = new Map(config.refs);
  const imageRef = layerRefs.get(IMAGE_REF);
  const bootImageRef = layerRefs.get(BOOT_IMAGE_REF);
  layerRefs.delete(IMAGE_REF);
  layerRefs.delete(BOOT_IMAGE_REF);
  return {
    manifestDigest,
    manifestStream: manifest.id,
    manifestJson: manifest.json,
    configDigest,
    configStream,
    configJson: config.json,
    isContainerImage,
    diffIds: isContainerImage ? parseConfig(config.json, `config ${configDigest}`).diffIds : [],
    layerRefs,
    imageRef,
    bootImageRef,
  };
}
