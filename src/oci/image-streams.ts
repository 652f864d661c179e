/**
 * The config and manifest streams of an image, as composefs-rs writes them:
 * each holds its JSON as one object, and named refs to the streams it
 * depends on (the config: one per diff_id; the manifest: `config:<digest>`
 * and one per diff_id), which keep those alive through garbage collection.
 */
import { type Repository, objectIdBytes, type ObjectId } from '../repository/index.js';
import { CONTENT_TYPES } from '../splitstream/index.js';
import { configContentId, manifestContentId } from './identifiers.js';

export interface LayerRef {
  readonly diffId: string;
  readonly streamId: ObjectId;
}

/** Extra named refs (e.g. `composefs.image` → an EROFS image's object). */
export type ExtraRefs = ReadonlyMap<string, ObjectId>;

async function writeJsonStream(
  repo: Repository,
  contentType: bigint,
  json: Uint8Array,
  refs: ReadonlyMap<string, ObjectId>,
  contentId: string,
): Promise<ObjectId> {
  const stored = await repo.objects.ensureObject(json);
  const writer = repo.streams.writer(contentType);
  try {
    for (const [name, id] of refs) writer.addNamedRef(name, objectIdBytes(id));
    await writer.writeExternal(objectIdBytes(stored.id), json.length);
    return await repo.streams.commit(await writer.finish(), contentId);
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

export function writeConfigStream(repo: Repository, configJson: Uint8Array, digest: string, layers: readonly LayerRef[], extra: ExtraRefs = new Map()): Promise<ObjectId> {
  const refs = new Map<string, ObjectId>(layers.map((l) => [l.diffId, l.streamId]));
  for (const [name, id] of extra) refs.set(name, id);
  return writeJsonStream(repo, CONTENT_TYPES.ociConfig, configJson, refs, configContentId(digest));
}

export function writeManifestStream(
  repo: Repository,
  manifestJson: Uint8Array,
  digest: string,
  config: { readonly digest: string; readonly streamId: ObjectId },
  layers: readonly LayerRef[],
  extra: ExtraRefs = new Map(),
): Promise<ObjectId> {
  const refs = new Map<string, ObjectId>([[`config:${config.digest}`, config.streamId]]);
  for (const l of layers) refs.set(l.diffId, l.streamId);
  for (const [name, id] of extra) refs.set(name, id);
  return writeJsonStream(repo, CONTENT_TYPES.ociManifest, manifestJson, refs, manifestContentId(digest));
}
