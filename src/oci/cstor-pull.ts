/**
 * `oci pull containers-storage:REF`: an image podman/buildah/skopeo put in
 * containers-storage becomes an OCI image in the repository, its file data
 * shared with the overlay diff/ files instead of copied. Layers already in
 * the repository are not imported again; the tag is set only once
 * everything it names is complete and on disk.
 */
import { ContainersStorage, type StorageOptions, type StoredImage } from '../cstor/index.js';
import { InputError, NotFoundError, type XattrMode } from '../../common/index.js';
import { ImportContext, type Repository, type ObjectId } from '../repository/index.js';
import { importCstorLayer } from './cstor-layer.js';
import { parseConfig, parseManifest } from './documents.js';
import { finishImport } from './finish-import.js';
import { layerContentId, sha256Digest } from './identifiers.js';
import type { LayerRef } from './image-streams.js';
import { ByteTask, StepTask, type TaskSink } from '../progress/index.js';
import { throttle, type ProgressSink } from './progress.js';
import { ImportStats } from './stats.js';

export interface PullOptions {
  /** The tag to set; default: the reference as given. */
  readonly tag?: string;
  /** Fail rather than copy file data (`--local-fetch zerocopy`). */
  readonly zerocopy?: boolean;
  readonly storage?: StorageOptions;
  readonly progress?: ProgressSink;
  /** Also make the bootable composefs image (`composefs.image.boot…`). */
  readonly bootable?: boolean;
  /**
   * The xattr mode of the images made (default allowlist-only). Another
   * mode makes that plain image as well as the default one (cfsctl mounts
   * only the default), and the bootable one in that mode.
   */
  readonly xattrs?: XattrMode;
  /**
   * bootc protocol snapshots: `importing` in bytes (a subtask per layer,
   * layers the repository has as cached), then `importing` in steps
   * (config and manifest streams, composefs image).
   */
  readonly events?: TaskSink;
  /** How the image is named in progress descriptions (default: the reference). */
  readonly displayName?: string;
}

export interface PullResult {
  readonly imageId: string;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly manifestStream: ObjectId;
  readonly configStream: ObjectId;
  readonly tag: string;
  readonly layers: readonly LayerRef[];
  readonly stats: ImportStats;
  /** The composefs image made from it (undefined for an artifact), in the `xattrs` mode. */
  readonly composefsImage: ObjectId | undefined;
  /** With `bootable`: the bootable variant. */
  readonly bootImage: ObjectId | undefined;
}

export const CSTOR_PREFIX = 'containers-storage:';

async function readDocuments(storage: ContainersStorage, image: StoredImage): Promise<{ config: Buffer; manifest: Buffer }> {
  const label = `image ${image.id.slice(0, 12)}…`;
  const config = await storage.config(image);
  if (!config) throw new NotFoundError(label, 'has no config in containers-storage');
  const manifest = await storage.manifest(image);
  if (!manifest) throw new NotFoundError(label, 'has no manifest in containers-storage');
  if (sha256Digest(config) !== `sha256:${image.id}`) {
    throw new InputError(label, `its config's sha256 is ${sha256Digest(config)}, not its ID`);
  }
  return { config, manifest };
}

export async function pullFromContainersStorage(repo: Repository, reference: string, options: PullOptions = {}): Promise<PullResult> {
  const ref = reference.startsWith(CSTOR_PREFIX) ? reference.slice(CSTOR_PREFIX.length) : reference;
  const storage = await ContainersStorage.open(options.storage ?? {});
  const image = await storage.findImage(ref);
  const layers = await storage.imageLayers(image);
  const docs = await readDocuments(storage, image);
  const configDigest = sha256Digest(docs.config);
  const manifestDigest = sha256Digest(docs.manifest);
  const config = parseConfig(docs.config, `config ${configDigest}`);
  const manifest = parseManifest(docs.manifest, `manifest ${manifestDigest}`);
  // One diff_id per manifest layer, in order (image-spec): a manifest that
  // lists more or fewer layers than its config describes is not one image.
  if (manifest.layers.length !== config.diffIds.length) {
    throw new InputError(`image ${ref}`, `its manifest lists ${manifest.layers.length} layers but its config has ${config.diffIds.length} diff_ids`);
  }
  if (config.diffIds.length !== layers.length) {
    throw new InputError(`image ${ref}`, `${layers.length} layers in containers-storage but ${config.diffIds.length} diff_ids in its config`);
  }
  const stats = new ImportStats();
  stats.layers = layers.length;
  const context = new ImportContext();
  const totalBytes = layers.reduce((n, l) => n + (l.diffSize ?? 0), 0);
  const present = await Promise.all(config.diffIds.map((diffId) => repo.streams.has(layerContentId(diffId))));
  const importing = new ByteTask({ task: 'importing', description: `Importing ${options.displayName ?? reference}`, id: manifestDigest }, options.events);
  config.diffIds.forEach((diffId, i) => {
    importing.add(diffId, `Layer ${diffId.slice(0, 19)}`, layers[i]?.diffSize ?? 0, { cached: present[i] !== undefined });
  });
  importing.begin();
  let bytesBefore = 0;
  const layerRefs: LayerRef[] = [];
  for (const [i, layer] of layers.entries()) {
    const diffId = config.diffIds[i] ?? '';
    if (layer.diffDigest !== undefined && layer.diffDigest !== diffId) {
      throw new InputError(`layer ${layer.id.slice(0, 12)}…`, `its diff digest ${layer.diffDigest} is not the config's diff_id ${diffId}`);
    }
    const event = { stage: 'layer' as const, layer: diffId, index: i + 1, count: layers.length, bytesTotal: totalBytes };
    let streamId = present[i] ?? (await repo.streams.has(layerContentId(diffId)));
    if (streamId !== undefined) {
      stats.layersAlreadyPresent++;
      options.progress?.({ ...event, bytesDone: bytesBefore + (layer.diffSize ?? 0), skipped: true });
      importing.complete(diffId);
    } else {
      const base = bytesBefore;
      const report = throttle(options.progress);
      report.final({ ...event, bytesDone: base });
      importing.start(diffId);
      let done = 0;
      streamId = await importCstorLayer(repo, layer, diffId, {
        context,
        zerocopy: options.zerocopy === true,
        stats,
        progress: (bytes) => {
          done = bytes;
          report.step({ ...event, bytesDone: base + bytes });
          importing.advance(diffId, bytes);
        },
      });
      report.final({ ...event, bytesDone: base + Math.max(done, layer.diffSize ?? 0) });
      importing.complete(diffId);
    }
    bytesBefore += layer.diffSize ?? 0;
    layerRefs.push({ diffId, streamId });
  }
  const finishing = new StepTask({ task: 'importing', description: `Importing ${options.displayName ?? reference}`, id: manifestDigest }, options.events);
  finishing.add('config', 'Config stream');
  finishing.add('manifest', 'Manifest stream');
  finishing.add('image', 'composefs image');
  if (options.bootable) finishing.add('boot-image', 'Bootable composefs image');
  finishing.begin();
  const tag = options.tag ?? reference;
  const docsIn = { config: docs.config, configDigest, manifest: docs.manifest, manifestDigest };
  const finished = await finishImport(repo, docsIn, layerRefs, {
    tag,
    bootable: options.bootable === true,
    ...(options.xattrs ? { xattrs: options.xattrs } : {}),
    bytesTotal: bytesBefore,
    ...(options.progress ? { progress: options.progress } : {}),
    step: (step, cached) => finishing.complete(step, cached),
  });
  return {
    imageId: image.id,
    manifestDigest,
    configDigest,
    manifestStream: finished.manifestStream,
    configStream: finished.configStream,
    tag,
    layers: layerRefs,
    stats,
    composefsImage: finished.composefsImage,
    bootImage: finished.bootImage,
  };
}
