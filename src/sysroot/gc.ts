/**
 * Garbage collection of a whole system: the composefs repository and the
 * system containers-storage together, keeping everything a deployment
 * still needs in both.
 *
 *   1. Deployments and what they need (inspect.ts): manifests, composefs
 *      images, bound images.
 *   2. The containers-storage is listed through podman before anything
 *      changes: a store podman cannot reach stops the GC with nothing
 *      removed.
 *   3. Under the repository's exclusive lock: every live deployment's
 *      manifest tagged `localhost/bootc-<digest>`, bootc tags of images no
 *      deployment uses removed, then the repository GC with the
 *      deployments' composefs images as extra roots.
 *   4. The containers-storage pruned, through podman, of every image that
 *      backs no live deployment and no bound image.
 *
 * Unlike bootc, no deployment is ever removed (cfskit is not the
 * bootloader's owner), bound images are kept in the store, and a
 * deployment whose needs cannot be known (no origin, unreadable bound
 * images) stops the steps that could lose them: its tags are not pruned
 * and the store is not pruned at all, and the report says why.
 */
import { lstat } from 'node:fs/promises';
import { NotFoundError, systemError } from '../../common/index.js';
import { manifestContentId } from '../oci/index.js';
import { applyCollection, planCollection, withExclusiveLock, type GcResult } from '../gc/index.js';
import { listDeployments, type BootStateOptions } from './deployments.js';
import { inspectDeployment, type DeploymentNeeds } from './inspect.js';
import { bootcTag, STORAGE_RUNROOT, SysrootLayout } from './layout.js';
import { SystemStore, type PodmanImage, type PodmanOptions } from './podman.js';
import { addBootcTag, listBootcTags, removeBootcTag } from './tags.js';
import { WantedImages } from './wanted.js';
import { Repository } from '../repository/index.js';

export interface SysrootGcOptions extends BootStateOptions {
  readonly dryRun?: boolean;
  /** podman binary, runroot and time limit for the system store. */
  readonly podman?: Partial<PodmanOptions>;
  /** Wait for the repository's other users (default true). */
  readonly wait?: boolean;
}

export interface StoreImageResult {
  readonly id: string;
  readonly names: readonly string[];
}

export interface SysrootGcResult {
  readonly dryRun: boolean;
  readonly deployments: readonly DeploymentNeeds[];
  /** bootc tags added for live deployments that lacked one. */
  readonly tagsAdded: readonly string[];
  /** bootc tags removed: no deployment uses their image. */
  readonly tagsRemoved: readonly string[];
  readonly repository: GcResult;
  readonly containersStorage: {
    /** False when the sysroot has no system store (nothing to prune). */
    readonly present: boolean;
    readonly path: string;
    /** Why nothing was pruned, when something a deployment needs is unknown. */
    readonly pruningSkipped: string | undefined;
    readonly removed: readonly StoreImageResult[];
    readonly kept: readonly StoreImageResult[];
    readonly failed: readonly { readonly id: string; readonly message: string }[];
  };
  /** Everything that kept the GC from knowing something, per deployment. */
  readonly problems: readonly string[];
}

async function storePresent(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw systemError(err, path, 'lstat');
  }
}

function wantedImages(needs: readonly DeploymentNeeds[]): WantedImages {
  const wanted = new WantedImages();
  for (const n of needs) {
    if (n.manifestDigest !== undefined) wanted.addDigest(n.manifestDigest);
    const source = n.deployment.origin?.source;
    if (source !== undefined && (source.transport === 'docker' || source.transport === 'containers-storage')) wanted.addReference(source.name);
    for (const b of n.boundImages ?? []) wanted.addReference(b.image);
  }
  return wanted;
}

const summary = (i: PodmanImage): StoreImageResult => ({ id: i.id, names: i.names });

export async function sysrootGc(sysroot: string, options: SysrootGcOptions = {}): Promise<SysrootGcResult> {
  const dryRun = options.dryRun === true;
  const layout = new SysrootLayout(sysroot);
  const deployments = await listDeployments(layout, options);
  const repo = await Repository.open(layout.repository, { write: !dryRun }).catch((err: unknown) => {
    if (err instanceof NotFoundError) throw new NotFoundError(layout.repository, `no composefs repository in sysroot ${sysroot}`, { cause: err });
    throw err;
  });
  try {
    const tags = await listBootcTags(repo);
    const needs: DeploymentNeeds[] = [];
    for (const d of deployments) needs.push(await inspectDeployment(repo, d, tags));
    const problems = needs.flatMap((n) => n.problems.map((p) => `deployment ${n.deployment.id}: ${p}`));

    const unresolved = needs.filter((n) => n.manifestDigest === undefined).map((n) => n.deployment.id);
    const boundUnknown = needs.filter((n) => n.boundImages === undefined).map((n) => n.deployment.id);
    const liveManifests = new Set(needs.map((n) => n.manifestDigest).filter((d): d is string => d !== undefined));

    // 2. The store, before anything changes.
    const present = await storePresent(layout.storage);
    const store = new SystemStore(layout.storage, { runRoot: STORAGE_RUNROOT, ...options.podman });
    const storeImages = present ? await store.listImages() : [];
    const wanted = wantedImages(needs);
    const pruningSkipped =
      unresolved.length > 0
        ? `the image of deployment(s) ${unresolved.join(', ')} is unknown`
        : boundUnknown.length > 0
          ? `the bound images of deployment(s) ${boundUnknown.join(', ')} are unknown`
          : undefined;
    const garbage = pruningSkipped === undefined ? storeImages.filter((i) => !wanted.matches(i)) : [];
    const kept = storeImages.filter((i) => !garbage.includes(i));

    // 3. Tags and the repository, under one exclusive lock so no pull
    // tags anything between the plan and the collection.
    const tagsAdded: string[] = [];
    for (const digest of liveManifests) {
      if (!tags.some((t) => t.manifestDigest === digest && t.pointsAtManifest) && (await repo.streams.has(manifestContentId(digest))) !== undefined) tagsAdded.push(digest);
    }
    const deadTags = unresolved.length > 0 ? [] : tags.filter((t) => !liveManifests.has(t.manifestDigest));
    const roots: string[] = [];
    for (const n of needs) {
      if (n.repository.composefsImage) roots.push(n.deployment.id);
      if (n.repository.manifest && n.manifestDigest !== undefined) roots.push(manifestContentId(n.manifestDigest));
    }
    const repositoryPhase = async (): Promise<GcResult> => {
      // The plan first (it fails on a root it cannot follow): no tag
      // changes unless the collection can run.
      const plan = await planCollection(repo, { dryRun, roots: [...new Set(roots)], ignoreRefs: deadTags.map((t) => t.ref) });
      if (!dryRun) {
        for (const digest of tagsAdded) await addBootcTag(repo, digest);
        for (const tag of deadTags) await removeBootcTag(repo, tag);
      }
      return applyCollection(repo, plan, { dryRun });
    };
    const repository = dryRun ? await repositoryPhase() : await withExclusiveLock(repo, options.wait !== false, repositoryPhase);

    // 4. The store.
    const outcome = dryRun || garbage.length === 0 ? { removed: garbage.map((i) => i.id), failed: [] } : await store.removeImages(garbage.map((i) => i.id));
    return {
      dryRun,
      deployments: needs,
      tagsAdded: tagsAdded.map(bootcTag),
      tagsRemoved: deadTags.map((t) => t.tag),
      repository,
      containersStorage: {
        present,
        path: layout.storage,
        pruningSkipped,
        removed: garbage.filter((i) => outcome.removed.includes(i.id)).map(summary),
        kept: kept.map(summary),
        failed: outcome.failed,
      },
      problems,
    };
  } finally {
    await repo.close();
  }
}
