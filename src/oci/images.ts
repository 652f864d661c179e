/**
 * OCI images in a repository: tags (streams/refs/oci/<encoded tag> →
 * oci-manifest-<digest>), resolving `NAME` or `@DIGEST`, and reading the
 * manifest and config JSON back out of their streams.
 */
import { Writable } from 'node:stream';
import { InputError, NotFoundError, UsageError } from '../../common/index.js';
import { type Repository, decodeTag, type ObjectId } from '../repository/index.js';
import { CONTENT_TYPES } from '../splitstream/index.js';
import { isImageConfigType, parseConfig, parseManifest, type ImageManifest } from './documents.js';
import { TAG_PREFIX, checkDigest, configContentId, manifestContentId, tagRef } from './identifiers.js';

/** OCI documents are small; a stream claiming more is damage. */
const MAX_JSON = 4 << 20;

export interface OciImage {
  readonly manifestDigest: string;
  readonly manifestStream: ObjectId;
  readonly manifest: ImageManifest;
  readonly manifestJson: Buffer;
  readonly configDigest: string;
  readonly configJson: Buffer;
  /** Named refs of the config stream (diff_ids, composefs.image, …). */
  readonly configRefs: ReadonlyMap<string, ObjectId>;
}

export interface ImageListing {
  readonly name: string;
  readonly manifestDigest: string;
  /** False for an artifact (its config is not an OCI image config). */
  readonly isContainer: boolean;
  readonly architecture: string;
  readonly os: string;
  readonly created: string | undefined;
  readonly layerCount: number;
}

/**
 * A sink that collects an OCI document's bytes and refuses, naming `name`,
 * past MAX_JSON: a stream claiming to be a config or manifest must not
 * make us buffer gigabytes.
 */
export function boundedDocumentSink(name: string): { sink: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  let size = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > MAX_JSON) return callback(new InputError(name, `is larger than ${MAX_JSON} bytes; not an OCI document`));
      chunks.push(chunk);
      callback();
    },
  });
  return { sink, bytes: () => Buffer.concat(chunks) };
}

/** The bytes of a small stream (JSON documents), bounded. */
export async function readSmallStream(repo: Repository, name: string, contentType: bigint): Promise<Buffer> {
  const out = boundedDocumentSink(name);
  await repo.streams.cat(name, out.sink, { contentType });
  return out.bytes();
}

/** The manifest digest `NAME` (a tag) or `@DIGEST` names. */
export async function resolveImageName(repo: Repository, name: string): Promise<string> {
  if (name.startsWith('@')) return checkDigest(name.slice(1), 'manifest digest');
  const refs = await repo.streams.listRefs(TAG_PREFIX);
  const encoded = tagRef(name).slice(TAG_PREFIX.length);
  const found = refs.find((r) => r.name === `${TAG_PREFIX}${encoded}`);
  if (!found) throw new NotFoundError(name, 'no such image tag in the repository (see cfskit oci images)');
  const prefix = 'oci-manifest-';
  if (!found.contentId.startsWith(prefix)) throw new InputError(`streams/refs/${TAG_PREFIX}${encoded}`, `points to ${found.contentId}, not a manifest`);
  return found.contentId.slice(prefix.length);
}

export async function openImage(repo: Repository, name: string): Promise<OciImage> {
  const manifestDigest = await resolveImageName(repo, name);
  const manifestName = manifestContentId(manifestDigest);
  const manifestStream = await repo.streams.has(manifestName);
  if (manifestStream === undefined) throw new NotFoundError(`@${manifestDigest}`, 'no such image in the repository');
  const manifestJson = await readSmallStream(repo, manifestName, CONTENT_TYPES.ociManifest);
  const manifest = parseManifest(manifestJson, manifestName);
  const configDigest = manifest.config.digest;
  const configName = configContentId(configDigest);
  const configJson = await readSmallStream(repo, configName, CONTENT_TYPES.ociConfig);
  const opened = await repo.streams.open(configName, { contentType: CONTENT_TYPES.ociConfig });
  let configRefs: Map<string, ObjectId>;
  try {
    configRefs = new Map([...opened.reader.info.namedRefs].map(([k, v]) => [k, Buffer.from(v).toString('hex')]));
  } finally {
    await opened.close();
  }
  return { manifestDigest, manifestStream, manifest, manifestJson, configDigest, configJson, configRefs };
}

/** Every tagged image, by tag name. */
export async function listImages(repo: Repository): Promise<ImageListing[]> {
  const listing: ImageListing[] = [];
  for (const ref of await repo.streams.listRefs(TAG_PREFIX)) {
    const name = decodeTag(ref.name.slice(TAG_PREFIX.length));
    const image = await openImage(repo, name);
    const isContainer = isImageConfigType(image.manifest.config.mediaType);
    const config = isContainer ? parseConfig(image.configJson, configContentId(image.configDigest)) : undefined;
    listing.push({
      name,
      manifestDigest: image.manifestDigest,
      isContainer,
      architecture: config?.architecture ?? '',
      os: config?.os ?? '',
      created: config?.created,
      layerCount: image.manifest.layers.length,
    });
  }
  return listing;
}

/** Points tag `name` at the image with manifest `digest` (which must exist). */
export async function tagImage(repo: Repository, digest: string, name: string): Promise<void> {
  if (name.startsWith('@')) throw new UsageError(`tag "${name}": a leading @ is reserved for digests`);
  checkDigest(digest, 'manifest digest');
  await repo.streams.setRef(tagRef(name), manifestContentId(digest));
}

export async function untagImage(repo: Repository, name: string): Promise<void> {
  await resolveImageName(repo, name);
  await repo.streams.removeRef(tagRef(name));
}
