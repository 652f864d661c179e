/**
 * What stage 1 will fetch, known before podman starts, so that the
 * `pulling` task can declare every layer with its size once and count
 * layers the store has already as cached: the manifest for the platform
 * (read with cfskit's own sources — the same auth files, credentials and
 * TLS settings as the pull — or from a `dir:` directory), its layers'
 * digests and sizes, and the config's diff_ids.
 *
 * A plan is a forecast, never a requirement: when cfskit cannot read the
 * image itself (a mirror only podman knows, a short name, a registry that
 * refuses), there is no plan, podman pulls anyway and its own error, if
 * any, is the one reported; the task then learns the layers as podman
 * names them.
 */
import { join } from 'node:path';
import { ContainersStorage } from '../cstor/index.js';
import { parseConfig, parseManifest } from '../oci/index.js';
import { readRegularFile } from '../../common/index.js';
import { hostPlatform, MAX_CONFIG, openSource, readConfigBlob, type Platform, type RegistrySourceOptions } from '../source/index.js';

export interface PlannedLayer {
  readonly digest: string;
  readonly size: number;
  readonly diffId: string | undefined;
  /** The store has this layer already (by blob digest or diff_id). */
  readonly present: boolean;
}

export interface PullPlan {
  readonly manifestDigest: string | undefined;
  readonly layers: readonly PlannedLayer[];
}

const NO_RETRY = { attempts: 1, firstDelayMs: 0, maxDelayMs: 0 };

async function fromSource(reference: string, platform: Platform, options: RegistrySourceOptions): Promise<{ manifest: Buffer; digest: string | undefined; config: Buffer | undefined }> {
  const source = await openSource(reference, { ...options, retry: NO_RETRY });
  try {
    const resolved = await source.resolve(platform);
    const manifest = parseManifest(resolved.bytes, reference);
    const config = await readConfigBlob(source, manifest.config).catch(() => undefined);
    return { manifest: resolved.bytes, digest: resolved.digest, config };
  } finally {
    await source.close();
  }
}

/** `dir:PATH`: manifest.json beside blobs named by their hex digests. */
async function fromDirectory(path: string): Promise<{ manifest: Buffer; digest: string | undefined; config: Buffer | undefined }> {
  const manifest = await readRegularFile(join(path, 'manifest.json'), { what: 'a dir: image manifest', maxBytes: MAX_CONFIG, follow: true });
  const digest = parseManifest(manifest, path).config.digest;
  // Only a plan: a config that cannot be read means every layer is fetched.
  const config = await readRegularFile(join(path, digest.slice(digest.indexOf(':') + 1)), { what: 'a dir: image config', maxBytes: MAX_CONFIG, follow: true }).catch(() => undefined);
  return { manifest, digest: undefined, config };
}

/** The plan for pulling `reference` into the store at `storageRoot`, or undefined when cfskit cannot read the image itself. */
export async function planPull(reference: string, storageRoot: string, options: RegistrySourceOptions & { readonly platform?: Platform }): Promise<PullPlan | undefined> {
  let read: { manifest: Buffer; digest: string | undefined; config: Buffer | undefined };
  try {
    read = reference.startsWith('dir:') ? await fromDirectory(reference.slice('dir:'.length)) : await fromSource(reference, options.platform ?? hostPlatform(), options);
  } catch {
    return undefined;
  }
  const manifest = parseManifest(read.manifest, reference);
  let diffIds: readonly string[] = [];
  try {
    if (read.config) diffIds = parseConfig(read.config, reference).diffIds;
  } catch {
    diffIds = [];
  }
  const known = await storedLayers(storageRoot);
  return {
    manifestDigest: read.digest,
    layers: manifest.layers.map((layer, i) => {
      const diffId = diffIds.length === manifest.layers.length ? diffIds[i] : undefined;
      return { digest: layer.digest, size: layer.size, diffId, present: known.has(layer.digest) || (diffId !== undefined && known.has(diffId)) };
    }),
  };
}

/** The blob and diff digests of every layer the store has (none when it does not exist yet). */
async function storedLayers(storageRoot: string): Promise<Set<string>> {
  const digests = new Set<string>();
  try {
    const storage = await ContainersStorage.open({ storageRoot, additionalImageStores: [] });
    for (const layer of await storage.layers()) {
      if (layer.incomplete) continue;
      if (layer.diffDigest) digests.add(layer.diffDigest);
      if (layer.compressedDigest) digests.add(layer.compressedDigest);
    }
  } catch {
    // No store yet, or one cfskit cannot read: nothing counts as present.
  }
  return digests;
}
