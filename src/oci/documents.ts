/**
 * The two OCI documents the repository keeps: the image config (its
 * rootfs.diff_ids name the layers) and the manifest (config and layer
 * descriptors). Parsed strictly enough to trust the fields cfskit uses;
 * the bytes themselves are stored unchanged.
 */
import { InputError } from '../../common/index.js';

/** The only config media type composefs-rs treats as a container image. */
export const OCI_CONFIG_MEDIA_TYPE = 'application/vnd.oci.image.config.v1+json';
/**
 * Docker schema 2's config is the same document under another name.
 * composefs-rs 0.9 takes such an image, as stored from containers-storage,
 * for an artifact and makes no composefs image of it (through skopeo it
 * converts the manifest to OCI first but keeps the original digest as the
 * stream's name); cfskit keeps the bytes and makes the image (registries
 * and docker-archive: serve such images).
 */
export const DOCKER_CONFIG_MEDIA_TYPE = 'application/vnd.docker.container.image.v1+json';

/** Whether a manifest's config media type makes it a container image (not an artifact). */
export function isImageConfigType(mediaType: string | undefined): boolean {
  return mediaType === OCI_CONFIG_MEDIA_TYPE || mediaType === DOCKER_CONFIG_MEDIA_TYPE;
}

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const MAX_DOCUMENT = 4 << 20;

export interface ImageConfig {
  readonly diffIds: readonly string[];
  readonly architecture: string | undefined;
  readonly os: string | undefined;
  readonly created: string | undefined;
}

export interface Descriptor {
  readonly mediaType: string | undefined;
  readonly digest: string;
  readonly size: number;
}

export interface ImageManifest {
  readonly mediaType: string | undefined;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

/** An OCI document's bytes as a JSON object, bounded; errors name `input`. */
export function parseDocumentObject(bytes: Uint8Array, input: string): Record<string, unknown> {
  if (bytes.length > MAX_DOCUMENT) throw new InputError(input, `is ${bytes.length} bytes, more than an OCI document may be (${MAX_DOCUMENT})`);
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new InputError(input, `invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InputError(input, 'is not a JSON object');
  return doc as Record<string, unknown>;
}

const optionalString = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function descriptor(value: unknown, input: string, where: string): Descriptor {
  if (typeof value !== 'object' || value === null) throw new InputError(input, `${where} is not a descriptor object`);
  const d = value as Record<string, unknown>;
  if (typeof d.digest !== 'string' || !DIGEST.test(d.digest)) throw new InputError(input, `${where}.digest is missing or invalid`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw new InputError(input, `${where}.size is missing or invalid`);
  return { mediaType: optionalString(d.mediaType), digest: d.digest, size: d.size };
}

export function parseConfig(bytes: Uint8Array, input: string): ImageConfig {
  const doc = parseDocumentObject(bytes, input);
  const rootfs = doc.rootfs;
  if (typeof rootfs !== 'object' || rootfs === null) throw new InputError(input, 'has no rootfs');
  const diffIds = (rootfs as Record<string, unknown>).diff_ids;
  if (!Array.isArray(diffIds)) throw new InputError(input, 'rootfs.diff_ids is not a list');
  diffIds.forEach((d, i) => {
    if (typeof d !== 'string' || !DIGEST.test(d)) throw new InputError(input, `rootfs.diff_ids[${i}] is not a digest`);
  });
  return {
    diffIds: diffIds as string[],
    architecture: optionalString(doc.architecture),
    os: optionalString(doc.os),
    created: optionalString(doc.created),
  };
}

export function parseManifest(bytes: Uint8Array, input: string): ImageManifest {
  const doc = parseDocumentObject(bytes, input);
  if (doc.schemaVersion !== 2) throw new InputError(input, `schemaVersion ${String(doc.schemaVersion)} is not 2`);
  if (!Array.isArray(doc.layers)) throw new InputError(input, 'has no layers list (an image index is not an image manifest)');
  return {
    mediaType: optionalString(doc.mediaType),
    config: descriptor(doc.config, input, 'config'),
    layers: doc.layers.map((l, i) => descriptor(l, input, `layers[${i}]`)),
  };
}
