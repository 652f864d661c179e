/**
 * `oci copy IMAGE --from REPO`: an OCI image and its layers from another
 * repository, finished as an import is (config and manifest streams, the
 * composefs image in this repository's formats, the tag), as cfsctl 0.9's
 * `oci copy` does.
 *
 * With the same digest algorithm a layer stream is the same file in both
 * repositories: its objects are copied — or with `zerocopy` reflinked,
 * else hard-linked, never copied — and the stream itself is stored as it
 * is. With another algorithm every object has another name, so each layer
 * tar is rebuilt from the source and split again (`zerocopy` refused, as
 * cfsctl refuses it).
 */
import { PassThrough } from 'node:stream';
import { NotFoundError, UsageError } from '../../common/index.js';
import { ImportContext, toObjectId, type ObjectId, type Repository } from '../repository/index.js';
import { CONTENT_TYPES, reassemble } from '../splitstream/index.js';
import { ensureImage } from './ensure-image.js';
import { configContentId, layerContentId, manifestContentId, tagRef } from './identifiers.js';
import { openImageStreams, type ImageStreams } from './image-open.js';
import { writeConfigStream, writeManifestStream, type LayerRef } from './image-streams.js';
import { ImportStats } from './stats.js';
import { importTarLayer } from './tar-layer.js';

export interface CopyOptions {
  /** Tag the copy with this name (cfsctl's `--name`; default: no tag). */
  readonly tag?: string;
  /** Reflink or hard-link objects, never copy (same algorithm and file system). */
  readonly zerocopy?: boolean;
}

export interface CopyResult {
  readonly manifestDigest: string;
  readonly manifestStream: ObjectId;
  readonly configDigest: string;
  readonly configStream: ObjectId;
  readonly composefsImage: ObjectId | undefined;
  readonly stats: ImportStats;
}

/** Copies one stored object; how it was stored goes to `stats`. */
async function copyObject(dest: Repository, source: Repository, id: ObjectId, options: CopyOptions, context: ImportContext, stats: ImportStats): Promise<void> {
  const handle = await source.streams.openObject(id, false);
  try {
    const size = (await handle.stat()).size;
    const stored = await dest.objects.ensureObjectFromFile(handle.fd, size, {
      name: `${source.path}: object ${id}`,
      context,
      knownId: id,
      zerocopy: options.zerocopy === true,
      strategies: options.zerocopy ? ['reflink', 'hardlink'] : ['copy'],
    });
    stats.object(stored.method, size);
  } finally {
    await handle.close();
  }
}

async function copyLayerSameAlgorithm(dest: Repository, source: Repository, diffId: string, streamId: ObjectId, options: CopyOptions, stats: ImportStats): Promise<ObjectId> {
  const context = new ImportContext();
  const stream = await source.streams.open(streamId, { contentType: CONTENT_TYPES.ociLayer });
  try {
    for (const ref of new Set(stream.reader.info.objectRefs.map((r) => toObjectId(r)))) await copyObject(dest, source, ref, options, context, stats);
  } finally {
    await stream.close();
  }
  await copyObject(dest, source, streamId, options, context, stats);
  await dest.streams.link(streamId, layerContentId(diffId));
  return streamId;
}

async function copyLayerRebuilt(dest: Repository, source: Repository, diffId: string, streamId: ObjectId, stats: ImportStats): Promise<ObjectId> {
  const stream = await source.streams.open(streamId, { contentType: CONTENT_TYPES.ociLayer });
  try {
    const tar = new PassThrough();
    const writing = reassemble(stream.reader, (id) => source.streams.openObject(toObjectId(id), false), tar).then(
      () => tar.end(),
      (err: unknown) => tar.destroy(err instanceof Error ? err : new Error(String(err))),
    );
    const imported = await importTarLayer(dest, diffId, tar, `${source.path}: layer ${diffId}`);
    await writing;
    stats.merge(imported.stats);
    return imported.streamId;
  } finally {
    await stream.close();
  }
}

async function copyLayers(dest: Repository, source: Repository, image: ImageStreams, options: CopyOptions, stats: ImportStats): Promise<LayerRef[]> {
  const sameAlgorithm = dest.hashAlg === source.hashAlg;
  const layers: LayerRef[] = [];
  const diffIds = image.isContainerImage ? image.diffIds : [];
  stats.layers = diffIds.length;
  for (const diffId of diffIds) {
    const present = await dest.streams.has(layerContentId(diffId));
    if (present !== undefined) {
      stats.layersAlreadyPresent++;
      layers.push({ diffId, streamId: present });
      continue;
    }
    const streamId = image.layerRefs.get(diffId);
    if (streamId === undefined) throw new NotFoundError(`${source.path}: config ${image.configDigest}`, `has no named ref to layer ${diffId}`);
    const copied = sameAlgorithm
      ? await copyLayerSameAlgorithm(dest, source, diffId, streamId, options, stats)
      : await copyLayerRebuilt(dest, source, diffId, streamId, stats);
    layers.push({ diffId, streamId: copied });
  }
  return layers;
}

export async function copyImage(dest: Repository, source: Repository, name: string, options: CopyOptions = {}): Promise<CopyResult> {
  if (options.zerocopy && dest.hashAlg !== source.hashAlg) {
    throw new UsageError(`--zerocopy requires matching hash algorithms; source uses ${source.hashAlg} but destination uses ${dest.hashAlg}`);
  }
  const image = await openImageStreams(source, name);
  if (!image.isContainerImage) throw new UsageError(`${name}: is an OCI artifact; only container images can be copied`);
  const stats = new ImportStats();
  const layers = await copyLayers(dest, source, image, options, stats);
  const configStream =
    (await dest.streams.has(configContentId(image.configDigest))) ?? (await writeConfigStream(dest, image.configJson, image.configDigest, layers));
  if ((await dest.streams.has(manifestContentId(image.manifestDigest))) === undefined) {
    await writeManifestStream(dest, image.manifestJson, image.manifestDigest, { digest: image.configDigest, streamId: configStream }, layers);
  }
  const ensured = await ensureImage(dest, `@${image.manifestDigest}`, options.tag !== undefined ? { tag: options.tag } : {});
  if (ensured === undefined && options.tag !== undefined) await dest.streams.setRef(tagRef(options.tag), manifestContentId(image.manifestDigest));
  const final = await openImageStreams(dest, `@${image.manifestDigest}`);
  return {
    manifestDigest: image.manifestDigest,
    manifestStream: final.manifestStream,
    configDigest: image.configDigest,
    configStream: final.configStream,
    composefsImage: ensured?.imageId,
    stats,
  };
}
