/**
 * An image's streams as composefs-rs's `OciImage::open` finds them: the
 * manifest stream (by tag or `@DIGEST`), then the config stream the
 * manifest's `config:<digest>` named ref points at — by object ID, not by
 * the `oci-config-…` link — and from the config stream's named refs the
 * layer streams (by diff_id) and the composefs images made from the image
 * (`composefs.image`, `composefs.image.boot.v1`, … see image-refs.ts).
 */
import { InputError, NotFoundError } from '../../common/index.js';
import { type Repository, toObjectId, type ObjectId } from '../repository/index.js';
import { CONTENT_TYPES, reassemble } from '../splitstream/index.js';
import { isImageConfigType, parseConfig, parseManifest } from './documents.js';
import { manifestContentId } from './identifiers.js';
import { imageRefName, isImageRefName, type ImageVariant } from './image-refs.js';
import { boundedDocumentSink, resolveImageName } from './images.js';

export { DOCKER_CONFIG_MEDIA_TYPE, OCI_CONFIG_MEDIA_TYPE } from './documents.js';

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
  /** The config stream's named refs without the image refs: diff_id → layer stream. */
  readonly layerRefs: ReadonlyMap<string, ObjectId>;
  /** The image refs (`isImageRefName`) → the images' object IDs. */
  readonly imageRefs: ReadonlyMap<string, ObjectId>;
}

/** The image an opened image's config names for `variant`, if any. */
export const imageRefOf = (image: ImageStreams, variant: ImageVariant): ObjectId | undefined => image.imageRefs.get(imageRefName(variant));

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
  const isContainerImage = isImageConfigType(parsed.config.mediaType);
  const layerRefs = new Map<string, ObjectId>();
  const imageRefs = new Map<string, ObjectId>();
  for (const [name, id] of config.refs) (isImageRefName(name) ? imageRefs : layerRefs).set(name, id);
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
    imageRefs,
  };
}
