/**
 * The unified pull: registry (or any source podman reads) → a
 * containers-storage the system owns → the composefs repository.
 *
 * Stage 1 fetches the image with real podman into the store (created if
 * missing), or — the install path — copies it with skopeo from another
 * store; what it left is checked (config and manifest digests, every
 * layer's diff_id). Stage 2 imports it from that store without copying
 * file data (reflinks, else hardlinks), exactly as `containers-storage:`
 * pulls do. The image stays in the store, so `podman run` finds it there.
 *
 * Progress is one stream of bootc-protocol snapshots: task `pulling`
 * (stage 1, a subtask per layer blob) then `importing` (stage 2, a
 * subtask per layer, then the streams and image as steps).
 */
import { ContainersStorage, type StoredImage } from '../cstor/index.js';
import { UsageError, type XattrMode } from '../../common/index.js';
import { CSTOR_PREFIX, pullFromContainersStorage, type ProgressSink, type PullResult } from '../oci/index.js';
import { copyBetweenStores, ensureStore, fetchIntoStore, parsePullLine, storeLocation, type FetchMethod, type StoreLocation } from '../podman/index.js';
import type { TaskSink } from '../progress/index.js';
import type { Credentials, TlsSettings } from '../registry/index.js';
import { formatPlatform, type Platform } from '../source/index.js';
import { checkStoredImage } from './check-store.js';
import { planPull, type PullPlan } from './plan.js';
import { PullingTask } from './pulling-task.js';

export interface StoragePullOptions {
  /** The store stage 1 fills and stage 2 reads (created if missing). */
  readonly storageRoot: string;
  /** podman's run root for it (default: one fixed per store, see defaultRunRoot). */
  readonly runRoot?: string;
  /** The install path: copy `containers-storage:REF` from this store first. */
  readonly fromStorageRoot?: string;
  readonly fromRunRoot?: string;
  /** The repository tag; default: `tagFor(manifest digest)` if given, else the reference as given. */
  readonly tag?: string;
  /** How to name the image from its manifest digest when no tag is given (bootc's `localhost/bootc-<digest>`). */
  readonly tagFor?: (manifestDigest: string) => string;
  readonly zerocopy?: boolean;
  readonly bootable?: boolean;
  /** The xattr mode of the images made, as for a containers-storage pull. */
  readonly xattrs?: XattrMode;
  readonly platform?: Platform;
  readonly credentials?: Credentials;
  readonly authFile?: string;
  readonly tls?: Partial<TlsSettings>;
  /** The podman and skopeo binaries (default: from $PATH). */
  readonly podman?: string;
  readonly skopeo?: string;
  /** bootc protocol snapshots of both stages. */
  readonly events?: TaskSink;
  /** Stage 2's stage events, as the containers-storage pull reports them. */
  readonly progress?: ProgressSink;
  /** The transient podman service's pid while it runs. */
  readonly onService?: (pid: number | undefined) => void;
}

export interface StoragePullResult extends PullResult {
  /** The store the image is in, and its run root. */
  readonly store: StoreLocation;
  /** The store was created by this pull. */
  readonly storeCreated: boolean;
  /** How stage 1 ran: through podman's API, `podman pull`, a copy from another store, or not at all (containers-storage:). */
  readonly fetchMethod: FetchMethod | 'copy' | 'none';
  readonly podmanVersion: string | undefined;
  /** The store copied from (install path). */
  readonly copiedFrom: string | undefined;
  /** Stage 1's layer blobs, and how many the store had already. */
  readonly storeLayers: { readonly layers: number; readonly present: number };
}

interface StageOne {
  readonly image: StoredImage;
  readonly storage: ContainersStorage;
  readonly method: FetchMethod | 'copy' | 'none';
  readonly podmanVersion: string | undefined;
}

async function openStore(store: StoreLocation): Promise<ContainersStorage> {
  return ContainersStorage.open({ storageRoot: store.root, additionalImageStores: [] });
}

/** `docker://` and the other transports podman reads, through podman into the store. */
async function fetchStage(store: StoreLocation, reference: string, options: StoragePullOptions, sink: TaskSink | undefined): Promise<StageOne & { plan: PullPlan | undefined; task: PullingTask }> {
  const plan = await planPull(reference, store.root, {
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.authFile !== undefined ? { authFile: options.authFile } : {}),
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.platform ? { platform: options.platform } : {}),
  });
  const task = new PullingTask({ description: `Pulling ${reference}`, id: plan?.manifestDigest ?? reference }, plan, sink);
  const fetched = await fetchIntoStore(store, reference, {
    ...(options.podman ? { podman: options.podman } : {}),
    ...(options.platform ? { platform: formatPlatform(options.platform) } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    ...(options.authFile !== undefined ? { authFile: options.authFile } : {}),
    ...(options.tls?.verify === false ? { tlsVerify: false } : {}),
    ...(options.tls?.certDir !== undefined ? { certDir: options.tls.certDir } : {}),
    onReport: task.report,
    ...(options.onService ? { onService: options.onService } : {}),
  });
  const storage = await openStore(store);
  const image = await storage.findImage(fetched.imageId ?? reference.replace(/^docker:\/\//, ''));
  return { image, storage, method: fetched.method, podmanVersion: fetched.podmanVersion, plan, task };
}

/** The install path: `containers-storage:REF` from another store into this one. */
async function copyStage(store: StoreLocation, reference: string, options: StoragePullOptions & { fromStorageRoot: string }, sink: TaskSink | undefined): Promise<StageOne & { task: PullingTask }> {
  const from = storeLocation(options.fromStorageRoot, options.fromRunRoot);
  const ref = reference.slice(CSTOR_PREFIX.length);
  const source = await openStore(from);
  const image = await source.findImage(ref);
  const layers = await source.imageLayers(image);
  const present = new Set((await openStore(store).then((s) => s.layers()).catch(() => [])).map((l) => l.diffDigest));
  // skopeo reads a store's layers uncompressed: the blobs it names are the diff_ids.
  const plan: PullPlan = {
    manifestDigest: image.digests[0],
    layers: layers.map((l) => ({ digest: l.diffDigest ?? `sha256:${l.id}`, size: l.diffSize ?? 0, diffId: l.diffDigest, present: present.has(l.diffDigest) })),
  };
  const task = new PullingTask({ description: `Copying ${reference} from ${from.root} to ${store.root}`, id: image.digests[0] ?? image.id }, plan, sink);
  const name = image.names.find((n) => n === ref || n.endsWith(`/${ref}`)) ?? image.names[0] ?? `localhost/cfskit-${image.id.slice(0, 12)}`;
  await copyBetweenStores(from, store, image.id, name, {
    ...(options.skopeo ? { skopeo: options.skopeo } : {}),
    onLine: (line) => parsePullLine(line).forEach(task.report),
  });
  const storage = await openStore(store);
  return { image: await storage.findImage(image.id), storage, method: 'copy', podmanVersion: undefined, task };
}

export async function pullIntoStorage(repo: Parameters<typeof pullFromContainersStorage>[0], reference: string, options: StoragePullOptions): Promise<StoragePullResult> {
  const isCstor = reference.startsWith(CSTOR_PREFIX);
  if (!isCstor && options.fromStorageRoot !== undefined) throw new UsageError(`--from-storage-root copies containers-storage: images, not ${reference}`);
  const store = storeLocation(options.storageRoot, options.runRoot);
  const sink = options.events;
  let created = false;
  let stage: StageOne & { task: PullingTask | undefined };
  if (isCstor && options.fromStorageRoot === undefined) {
    // Already in the store: no stage 1, the same checks before the import.
    const storage = await openStore(store);
    stage = { image: await storage.findImage(reference.slice(CSTOR_PREFIX.length)), storage, method: 'none', podmanVersion: undefined, task: undefined };
  } else {
    created = (await ensureStore(store, options.podman ? { podman: options.podman } : {})).created;
    stage =
      options.fromStorageRoot !== undefined ? await copyStage(store, reference, { ...options, fromStorageRoot: options.fromStorageRoot }, sink) : await fetchStage(store, reference, options, sink);
  }
  const checked = await checkStoredImage(stage.storage, stage.image, reference, store.root);
  stage.task?.completeWith(checked.manifest.layers);
  const tag = options.tag ?? (options.tagFor ? options.tagFor(checked.manifestDigest) : reference);
  const result = await pullFromContainersStorage(repo, `${CSTOR_PREFIX}${stage.image.id}`, {
    tag,
    displayName: reference,
    storage: { storageRoot: store.root, additionalImageStores: [] },
    ...(options.zerocopy ? { zerocopy: true } : {}),
    ...(options.bootable ? { bootable: true } : {}),
    ...(options.xattrs ? { xattrs: options.xattrs } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
    ...(sink ? { events: sink } : {}),
  });
  return {
    ...result,
    store,
    storeCreated: created,
    fetchMethod: stage.method,
    podmanVersion: stage.podmanVersion,
    copiedFrom: options.fromStorageRoot,
    storeLayers: stage.task?.counts() ?? { layers: checked.manifest.layers.length, present: checked.manifest.layers.length },
  };
}
