/**
 * From an image index (or Docker manifest list) to the image manifest to
 * pull: the entry for the wanted platform, through nested indexes, or by
 * tag (`org.opencontainers.image.ref.name`) in an OCI layout's
 * index.json. Every document is classified by its content and its
 * declared media type; schema 1 manifests and anything else unknown are
 * refused by name.
 */
import { InputError, NotFoundError, UnsupportedError } from '../../common/index.js';
import { parseDocumentObject, type Descriptor } from '../oci/index.js';
import type { BlobDescriptor, ResolvedManifest } from './image-source.js';
import { DOCKER_SCHEMA1, INDEX_TYPES, MANIFEST_TYPES } from './media-types.js';
import { formatPlatform, platformRank, type IndexEntryPlatform, type Platform } from './platform.js';

const MAX_DEPTH = 4;
export const REF_NAME = 'org.opencontainers.image.ref.name';
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

export interface IndexEntry extends Descriptor {
  readonly platform: IndexEntryPlatform | undefined;
  readonly annotations: Readonly<Record<string, string>>;
}

export type Document =
  | { readonly kind: 'manifest'; readonly mediaType: string | undefined }
  | { readonly kind: 'index'; readonly mediaType: string | undefined; readonly entries: readonly IndexEntry[] };

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function entry(value: unknown, input: string, i: number): IndexEntry {
  if (typeof value !== 'object' || value === null) throw new InputError(input, `manifests[${i}] is not a descriptor`);
  const d = value as Record<string, unknown>;
  if (typeof d.digest !== 'string' || !DIGEST.test(d.digest)) throw new InputError(input, `manifests[${i}].digest is missing or invalid`);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw new InputError(input, `manifests[${i}].size is missing or invalid`);
  const p = typeof d.platform === 'object' && d.platform !== null ? (d.platform as Record<string, unknown>) : undefined;
  const platform = p ? { os: str(p.os), architecture: str(p.architecture), variant: str(p.variant) } : undefined;
  const annotations: Record<string, string> = {};
  if (typeof d.annotations === 'object' && d.annotations !== null) {
    for (const [k, v] of Object.entries(d.annotations)) if (typeof v === 'string') annotations[k] = v;
  }
  return { mediaType: str(d.mediaType), digest: d.digest, size: d.size, platform: platform as IndexEntryPlatform | undefined, annotations };
}

/** What a document is: an image manifest or an index, else an error naming it. */
export function classifyDocument(bytes: Uint8Array, declared: string | undefined, input: string): Document {
  const doc = parseDocumentObject(bytes, input);
  const mediaType = str(doc.mediaType) ?? declared;
  if ((mediaType !== undefined && DOCKER_SCHEMA1.includes(mediaType)) || doc.schemaVersion === 1) {
    throw new UnsupportedError(`${input}: Docker schema 1 manifests are not supported (convert the image with skopeo copy)`);
  }
  if (Array.isArray(doc.manifests) && (mediaType === undefined || INDEX_TYPES.has(mediaType))) {
    return { kind: 'index', mediaType, entries: doc.manifests.map((m, i) => entry(m, input, i)) };
  }
  if (Array.isArray(doc.layers) && typeof doc.config === 'object' && (mediaType === undefined || MANIFEST_TYPES.has(mediaType))) {
    return { kind: 'manifest', mediaType };
  }
  throw new UnsupportedError(`${input}: unknown media type ${mediaType ?? '(none given)'}: neither an image manifest nor an image index`);
}

/** The index entry serving `platform`, best match first, or a NotFoundError listing what there is. */
export function choosePlatform(entries: readonly IndexEntry[], platform: Platform, input: string): IndexEntry {
  let best: { entry: IndexEntry; rank: number } | undefined;
  for (const e of entries) {
    if (!e.platform) continue;
    const rank = platformRank(e.platform, platform);
    if (rank !== undefined && (best === undefined || rank < best.rank)) best = { entry: e, rank };
  }
  if (best) return best.entry;
  const offered = entries
    .map((e) => (e.platform ? [e.platform.os, e.platform.architecture, e.platform.variant].filter(Boolean).join('/') : 'no platform'))
    .join(', ');
  throw new NotFoundError(input, `no image for platform ${formatPlatform(platform)} in the index (it has: ${offered || 'nothing'}); choose one with --platform`);
}

/** Reads a nested document named by an index entry; the reader checks its digest and size. */
export type DocumentReader = (descriptor: BlobDescriptor) => Promise<Buffer>;

/**
 * Follows indexes from `top` down to an image manifest for `platform`.
 * `top` is an image manifest or an index (a registry's answer for a tag,
 * an entry of index.json).
 */
export async function resolveToManifest(
  top: ResolvedManifest,
  platform: Platform,
  read: DocumentReader,
  input: string,
): Promise<ResolvedManifest> {
  let current = top;
  for (let depth = 0; ; depth++) {
    const doc = classifyDocument(current.bytes, current.mediaType, `${input}: ${current.digest}`);
    if (doc.kind === 'manifest') return { ...current, mediaType: doc.mediaType };
    if (depth >= MAX_DEPTH) throw new InputError(input, `image indexes nested more than ${MAX_DEPTH} deep`);
    const chosen = choosePlatform(doc.entries, platform, `${input}: index ${current.digest}`);
    const bytes = await read(chosen);
    current = { bytes, digest: chosen.digest, mediaType: chosen.mediaType };
  }
}
