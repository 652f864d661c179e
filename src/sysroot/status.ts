/**
 * `sysroot status`: every deployment with its role, its image and whether
 * both stores hold what it needs, read-only (the containers-storage
 * through cfskit's own reader, so no podman is needed to look).
 */
import { lstat } from 'node:fs/promises';
import { ContainersStorage } from '../cstor/index.js';
import { NotFoundError } from '../../common/index.js';
import type { BoundImage } from './bound-images.js';
import { listDeployments, type BootStateOptions } from './deployments.js';
import { inspectDeployment, type RepositoryImageState } from './inspect.js';
import { SysrootLayout } from './layout.js';
import { listBootcTags } from './tags.js';
import { WantedImages, type StoreImage } from './wanted.js';
import { Repository } from '../repository/index.js';

export interface BoundImageStatus extends BoundImage {
  /** Undefined when the sysroot has no containers-storage. */
  readonly inContainersStorage: boolean | undefined;
}

export interface DeploymentStatus {
  readonly id: string;
  readonly booted: boolean;
  readonly staged: boolean;
  /** Undefined when the bootloader entries or the booted deployment are unknown. */
  readonly rollback: boolean | undefined;
  readonly imageReference: string | undefined;
  readonly manifestDigest: string | undefined;
  readonly manifestFrom: 'origin' | 'tagged image' | undefined;
  readonly repository: RepositoryImageState;
  readonly inContainersStorage: boolean | undefined;
  readonly boundImages: readonly BoundImageStatus[] | undefined;
  readonly problems: readonly string[];
}

export interface SysrootStatus {
  readonly sysroot: string;
  readonly repository: string;
  readonly containersStorage: { readonly path: string; readonly present: boolean };
  readonly deployments: readonly DeploymentStatus[];
}

async function storeImages(path: string): Promise<StoreImage[] | undefined> {
  try {
    await lstat(path);
  } catch {
    return undefined;
  }
  const storage = await ContainersStorage.open({ storageRoot: path, additionalImageStores: [] });
  return storage.images();
}

function present(images: readonly StoreImage[] | undefined, fill: (w: WantedImages) => void): boolean | undefined {
  if (images === undefined) return undefined;
  const wanted = new WantedImages();
  fill(wanted);
  return images.some((i) => wanted.matches(i));
}

export async function sysrootStatus(sysroot: string, options: BootStateOptions = {}): Promise<SysrootStatus> {
  const layout = new SysrootLayout(sysroot);
  const deployments = await listDeployments(layout, options);
  const images = await storeImages(layout.storage);
  const repo = await Repository.open(layout.repository).catch((err: unknown) => {
    if (err instanceof NotFoundError) throw new NotFoundError(layout.repository, `no composefs repository in sysroot ${sysroot}`, { cause: err });
    throw err;
  });
  try {
    const tags = await listBootcTags(repo);
    const statuses: DeploymentStatus[] = [];
    for (const d of deployments) {
      const needs = await inspectDeployment(repo, d, tags);
      statuses.push({
        id: d.id,
        booted: d.booted,
        staged: d.staged,
        rollback: d.rollback,
        imageReference: d.origin?.imageReference,
        manifestDigest: needs.manifestDigest,
        manifestFrom: needs.manifestFrom,
        repository: needs.repository,
        inContainersStorage: present(images, (w) => {
          if (needs.manifestDigest !== undefined) w.addDigest(needs.manifestDigest);
        }),
        boundImages: needs.boundImages?.map((b) => ({ ...b, inContainersStorage: present(images, (w) => w.addReference(b.image)) })),
        problems: needs.problems,
      });
    }
    return { sysroot, repository: layout.repository, containersStorage: { path: layout.storage, present: images !== undefined }, deployments: statuses };
  } finally {
    await repo.close();
  }
}
