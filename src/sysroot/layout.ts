/**
 * Where a bootc composefs system keeps things, relative to its physical
 * root (the sysroot, `/sysroot` on a booted system), and how bootc names
 * what it keeps. One module, so gc, status and the unified pull agree:
 *
 *   composefs/                      the composefs repository
 *   composefs/bootc/storage/        the system containers-storage (bootc's
 *                                   podstorage.rs: BOOTC_ROOT + "storage")
 *   ostree/bootc -> ../composefs/bootc   compatibility link, so the booted
 *                                   root's /usr/lib/bootc/storage (which
 *                                   points through ostree/bootc) finds it
 *   state/deploy/<id>/<id>.origin   one directory per deployment; <id> is
 *                                   its composefs image ID (composefs=)
 *
 * bootc tags the manifest of every image a deployment uses
 * `localhost/bootc-<manifest digest>` in the repository (repo.rs): those
 * tags are the GC roots of deployments.
 */
import { join } from 'node:path';

/** The physical root of a booted system. */
export const DEFAULT_SYSROOT = '/sysroot';

export const REPOSITORY_DIR = 'composefs';
/** bootc's own directory inside the repository's (COMPOSEFS_BOOTC_ROOT). */
export const BOOTC_DIR = 'composefs/bootc';
export const STORAGE_DIR = 'composefs/bootc/storage';
/** The link older code and the booted root reach the store through (BOOTC_ROOT). */
export const COMPAT_LINK = 'ostree/bootc';
export const COMPAT_LINK_TARGET = '../composefs/bootc';
export const STATE_DIR = 'state/deploy';

/** The system store as the booted root sees it (what podman is pointed at). */
export const BOOTED_STORAGE_PATH = '/usr/lib/bootc/storage';
/** podman's runtime state for the system store (bootc: /run + bootc/storage). */
export const STORAGE_RUNROOT = '/run/bootc/storage';
/** bootc records the staged deployment here (JSON {"depl_id": …}). */
export const STAGED_DEPLOYMENT_FILE = '/run/composefs/staged-deployment';
/** Symlinks to the `.image`/`.container` files of logically bound images, inside an image. */
export const BOUND_IMAGES_DIR = '/usr/lib/bootc/bound-images.d';

export const BOOTC_TAG_PREFIX = 'localhost/bootc-';

/** The repository tag bootc gives the image with this manifest. */
export function bootcTag(manifestDigest: string): string {
  return `${BOOTC_TAG_PREFIX}${manifestDigest}`;
}

/** The manifest digest a bootc tag names, or undefined for any other tag. */
export function manifestOfBootcTag(tag: string): string | undefined {
  return tag.startsWith(BOOTC_TAG_PREFIX) ? tag.slice(BOOTC_TAG_PREFIX.length) : undefined;
}

export class SysrootLayout {
  constructor(readonly root: string) {}

  get repository(): string {
    return join(this.root, REPOSITORY_DIR);
  }

  get storage(): string {
    return join(this.root, STORAGE_DIR);
  }

  get compatLink(): string {
    return join(this.root, COMPAT_LINK);
  }

  get stateDir(): string {
    return join(this.root, STATE_DIR);
  }

  deploymentDir(id: string): string {
    return join(this.stateDir, id);
  }

  originFile(id: string): string {
    return join(this.stateDir, id, `${id}.origin`);
  }
}
