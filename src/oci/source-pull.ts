/**
 * `oci pull oci:…|oci-archive:…|docker-archive:…|docker://…`: an image
 * pulled with no container engine, straight into the repository. The
 * manifest for the platform first, then the config (its diff_ids say
 * which layer streams exist already; those layers are not fetched), then
 * the missing layers, several at a time, largest first, each in one pass
 * from blob to layer splitstream; then the same config and manifest
 * streams, composefs image and tag as a containers-storage pull. The
 * streams are byte for byte those the containers-storage path writes.
 */
import { InputError, UnsupportedError, type XattrMode } from '../../common/index.js';
import { ByteTask, StepTask, type TaskSink } from '../progress/index.js';
import type { Repository } from '../repository/index.js';
import { CONFIG_TYPES, hostPlatform, LAYER_TYPES, openSource, readConfigBlob, type BlobDescriptor, type ImageSource, type Platform, type RegistrySourceOptions } from '../source/index.js';
import type { PullResult } from './cstor-pull.js';
import { parseConfig, parseManifest } from './documents.js';
import { finishImport } from './finish-import.js';
import { CONTENT_TYPES } from '../splitstream/index.js';
import { configContentId, layerContentId, sha256Digest } from './identifiers.js';
import { readSmallStream } from './images.js';
import { importBlobLayer } from './blob-layer.js';
import type { LayerRef } from './image-streams.js';
import { throttle, type ProgressSink } from './progress.js';
import { ImportStats } from './stats.js';

export const DEFAULT_CONCURRENCY = 3;

export interface SourcePullOptions extends RegistrySourceOptions {
  /** The tag to set; default: the reference as given. */
  readonly tag?: string;
  readonly bootable?: boolean;
  /** The xattr mode of the images made, as for a containers-storage pull (PullOptions.xattrs). */
  readonly xattrs?: XattrMode;
  /** Which image of an index; default: linux and the host's architecture. */
  readonly platform?: Platform;
  /** Layers fetched at once (default 3). */
  readonly concurrency?: number;
  /** How many times its compressed size a layer may expand to (default 256). */
  readonly maxExpansion?: number;
  /** Stage events, as the containers-storage pull reports them. */
  readonly progress?: ProgressSink;
  /** bootc protocol snapshots: `pulling` (bytes, a subtask per layer), then `importing` (steps). */
  readonly events?: TaskSink;
}

interface LayerJob {
  readonly descriptor: BlobDescriptor;
  readonly diffId: string;
  readonly index: number;
}

/** The config: from its stream when the repository has it (a re-pull fetches no blob at all), else from the source. */
async function configBytes(repo: Repository, source: ImageSource, descriptor: BlobDescriptor): Promise<Buffer> {
  const contentId = configContentId(descriptor.digest);
  if ((await repo.streams.has(contentId)) !== undefined) {
    const stored = await readSmallStream(repo, contentId, CONTENT_TYPES.ociConfig);
    if (sha256Digest(stored) === descriptor.digest) return stored;
  }
  return readConfigBlob(source, descriptor);
}

/** Runs `jobs` with at most `limit` at once; the first failure stops the others. */
async function runBounded<T>(jobs: readonly T[], limit: number, run: (job: T, signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < jobs.length) {
      const job = jobs[next++] as T;
      try {
        await run(job, controller.signal);
      } catch (error) {
        if (failure === undefined) {
          failure = { error };
          controller.abort(error);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, jobs.length)) }, worker));
  if (failure) throw failure.error;
}

export async function pullFromSource(repo: Repository, reference: string, options: SourcePullOptions = {}): Promise<PullResult> {
  const source = await openSource(reference, options);
  try {
    return await pullImage(repo, source, reference, options);
  } finally {
    await source.close();
  }
}

async function pullImage(repo: Repository, source: ImageSource, reference: string, options: SourcePullOptions): Promise<PullResult> {
  const resolved = await source.resolve(options.platform ?? hostPlatform());
  const manifestDigest = resolved.digest;
  const manifest = parseManifest(resolved.bytes, `${source.name}: manifest ${manifestDigest}`);
  const configType = manifest.config.mediaType;
  if (configType !== undefined && !CONFIG_TYPES.has(configType)) {
    throw new UnsupportedError(`${source.name}: config media type ${configType} is not a container image's (artifacts are not pulled)`);
  }
  manifest.layers.forEach((layer, i) => {
    if (layer.mediaType === undefined || !LAYER_TYPES.has(layer.mediaType)) {
      throw new UnsupportedError(`${source.name}: layer ${i} (${layer.digest}) has unknown media type ${layer.mediaType ?? '(none)'}`);
    }
  });
  const configDigest = manifest.config.digest;
  const configJson = await configBytes(repo, source, manifest.config);
  const config = parseConfig(configJson, `${source.name}: config ${configDigest}`);
  if (config.diffIds.length !== manifest.layers.length) {
    throw new InputError(source.name, `the manifest lists ${manifest.layers.length} layers but the config has ${config.diffIds.length} diff_ids`);
  }

  const stats = new ImportStats();
  const pulling = new ByteTask({ task: 'pulling', description: `Pulling ${reference}`, id: manifestDigest }, options.events);
  const jobs: LayerJob[] = [];
  const streams = new Map<string, string>();
  const seen = new Set<string>();
  let cachedBytes = 0;
  for (const [i, layer] of manifest.layers.entries()) {
    const diffId = config.diffIds[i] ?? '';
    if (seen.has(diffId)) continue;
    seen.add(diffId);
    const present = await repo.streams.has(layerContentId(diffId));
    pulling.add(layer.digest, `Layer ${layer.digest.slice(0, 19)}`, layer.size, { cached: present !== undefined });
    if (present !== undefined) {
      streams.set(diffId, present);
      stats.layersAlreadyPresent++;
      cachedBytes += layer.size;
    } else {
      jobs.push({ descriptor: layer, diffId, index: i + 1 });
    }
  }
  stats.layersAlreadyPresent += manifest.layers.length - seen.size;
  const bytesTotal = manifest.layers.reduce((n, l) => n + l.size, 0);
  pulling.begin();
  const count = manifest.layers.length;
  const done = new Map<string, number>();
  let bytesDone = cachedBytes;
  const legacy = throttle(options.progress);
  config.diffIds.forEach((diffId, i) => {
    if (streams.has(diffId)) legacy.final({ stage: 'layer', layer: diffId, index: i + 1, count, bytesDone, bytesTotal, skipped: true });
  });

  jobs.sort((a, b) => b.descriptor.size - a.descriptor.size);
  await runBounded(jobs, options.concurrency ?? DEFAULT_CONCURRENCY, async (job, signal) => {
    const event = { stage: 'layer' as const, layer: job.diffId, index: job.index, count, bytesTotal };
    pulling.start(job.descriptor.digest);
    legacy.final({ ...event, bytesDone });
    const result = await importBlobLayer(repo, source, job.descriptor, job.diffId, {
      signal,
      ...(options.maxExpansion !== undefined ? { maxExpansion: options.maxExpansion } : {}),
      onBytes: (bytes) => {
        bytesDone += bytes - (done.get(job.diffId) ?? 0);
        done.set(job.diffId, bytes);
        pulling.advance(job.descriptor.digest, bytes);
        legacy.step({ ...event, bytesDone });
      },
    });
    streams.set(job.diffId, result.streamId);
    stats.merge(result.stats);
    stats.layersAlreadyPresent += result.stats.layersAlreadyPresent;
    pulling.complete(job.descriptor.digest);
    legacy.final({ ...event, bytesDone });
  });

  stats.layers = count;
  const layerRefs: LayerRef[] = config.diffIds.map((diffId) => ({ diffId, streamId: streams.get(diffId) ?? '' }));
  const importing = new StepTask({ task: 'importing', description: `Importing ${reference}`, id: manifestDigest }, options.events);
  importing.add('config', 'Config stream');
  importing.add('manifest', 'Manifest stream');
  importing.add('image', 'composefs image');
  if (options.bootable) importing.add('boot-image', 'Bootable composefs image');
  importing.begin();
  const tag = options.tag ?? reference;
  const finished = await finishImport(
    repo,
    { config: configJson, configDigest, manifest: resolved.bytes, manifestDigest },
    layerRefs,
    {
      tag,
      bootable: options.bootable === true,
      ...(options.xattrs ? { xattrs: options.xattrs } : {}),
      bytesTotal,
      ...(options.progress ? { progress: options.progress } : {}),
      step: (step, cached) => importing.complete(step, cached),
    },
  );
  return {
    imageId: configDigest.slice(configDigest.indexOf(':') + 1),
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
