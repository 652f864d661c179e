/**
 * Mounting a repository's composefs image (Linux, CAP_SYS_ADMIN):
 *
 *   image object ──loop (read-only, autoclear)──▶ erofs ──┐ lower layer (metadata)
 *   objects/ ─────────────────────────────────────────────┴▶ overlay "composefs:<id>" at MOUNTPOINT
 *                                                            data-only layer, metacopy=on, redirect_dir=on,
 *                                                            verity=require in secure repositories
 *
 * Every step holds a descriptor that undoes it when closed (the loop
 * device autoclears, a detached mount vanishes), and a failure unwinds the
 * steps taken, so nothing is left behind but a complete mount. The one
 * attached intermediate, the erofs mount that overlayfs resolves as its
 * lower layer (kernels before 6.15 accept no detached mount there), lives
 * in a private temporary directory only until the overlay exists.
 */
import { close as closeCb, constants } from 'node:fs';
import { mkdtemp, open, realpath, rmdir, stat } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  fsConfigCreate,
  fsConfigFlag,
  fsConfigString,
  fsMount,
  fsOpen,
  loopAttach,
  moveMount,
  unmount,
} from '../../host-bindings/index.js';
import { CfskitError, InputError, SystemError, UnsupportedError, UsageError, systemError } from '../../common/index.js';
import { openStoredImage } from '../image/index.js';
import { objectRelPath, type ObjectId, type Repository } from '../repository/index.js';
import { loopBindings, readMountinfo, topMountAt } from './mountinfo.js';

const closeFd = promisify(closeCb);

export interface MountOptions {
  /**
   * Have overlayfs require fs-verity on every object, matching the digest
   * the image records (`verity=require`, Linux 6.6+). Default: whether the
   * repository is secure; a secure repository cannot opt out.
   */
  readonly requireVerity?: boolean;
}

export interface MountedImage {
  /** The canonical path it is mounted at. */
  readonly mountpoint: string;
  readonly imageId: ObjectId;
  /** The overlay's source as /proc/self/mountinfo shows it. */
  readonly source: string;
  /** The loop device holding the image; it detaches itself on unmount. */
  readonly loopDevice: string;
  readonly verity: boolean;
}

/** The mount source cfskit gives composefs overlays, as composefs-rs does. */
export const SOURCE_PREFIX = 'composefs:';

/** Throws unless this process may mount (checked first, before any repository is opened). */
export function requireRoot(what: string): void {
  if (process.geteuid?.() !== 0) throw new UnsupportedError(`${what} needs root (CAP_SYS_ADMIN); run it as root`);
}

/** Kernel version from os.release(), for hints only: features are probed, not assumed. */
function kernelBefore(major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release());
  if (!m) return false;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  return maj < major || (maj === major && min < minor);
}

/**
 * Turns what the kernel refused into an error that says what is missing;
 * `hint` explains an EINVAL (an option this kernel does not know).
 */
function explain(err: unknown, what: string, hint?: string): unknown {
  if (!(err instanceof SystemError)) return err;
  if (err.errno === 'EPERM' || err.errno === 'EACCES') {
    return new UnsupportedError(`${what}: the kernel refused (${err.errno}); mounting needs root (CAP_SYS_ADMIN)`, { cause: err });
  }
  if (err.errno === 'ENODEV' && err.syscall === 'fsopen') {
    return new UnsupportedError(`${what}: this kernel has no such file system (load its module): ${err.message}`, { cause: err });
  }
  if (err.errno === 'EINVAL' && hint) return new UnsupportedError(`${what}: ${hint}: ${err.message}`, { cause: err });
  return new CfskitError('system', `${what}: ${err.message}`, { cause: err });
}

/** Why this kernel's overlayfs may refuse a composefs mount, if it is old. */
function overlayHint(verity: boolean): string | undefined {
  if (kernelBefore(6, 5)) return `overlayfs in Linux ${release()} has no data-only lower layers ("::", Linux 6.5 or later)`;
  if (verity && kernelBefore(6, 6)) return `overlayfs in Linux ${release()} cannot require fs-verity (verity=, Linux 6.6 or later)`;
  return undefined;
}

/** Undo steps, run last-first; every one runs even when another fails. */
class Unwind {
  private readonly steps: { what: string; undo: () => Promise<void> }[] = [];

  push(what: string, undo: () => Promise<void>): void {
    this.steps.push({ what, undo });
  }

  async run(): Promise<string[]> {
    const problems: string[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step.undo();
      } catch (err) {
        problems.push(`${step.what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    return problems;
  }
}

async function step<T>(what: string, action: () => Promise<T>, hint?: string): Promise<T> {
  try {
    return await action();
  } catch (err) {
    throw explain(err, what, hint);
  }
}

async function checkMountpoint(mountpoint: string): Promise<string> {
  let canonical: string;
  try {
    canonical = await realpath(mountpoint);
    if (!(await stat(canonical)).isDirectory()) throw new InputError(mountpoint, 'mount point is not a directory');
  } catch (err) {
    throw systemError(err, mountpoint, 'stat');
  }
  return canonical;
}

/**
 * Mounts the image `name` (its digest, or `refs/<name>`; only images
 * linked under images/) at `mountpoint`. The image object is verified
 * against its ID before the kernel sees it.
 */
export async function mountImage(repo: Repository, name: string, mountpoint: string, options: MountOptions = {}): Promise<MountedImage> {
  requireRoot(`mounting image ${name}`);
  const secure = repo.security === 'secure';
  if (secure && options.requireVerity === false) {
    throw new UsageError(`${repo.path}: images of a secure repository are always mounted with verity=require`);
  }
  const verity = options.requireVerity ?? secure;
  const target = await checkMountpoint(mountpoint);
  const undo = new Unwind();
  try {
    const image = await openStoredImage(repo, name);
    undo.push('closing the image', () => image.handle.close());
    const what = `image ${image.id}`;
    const objectsPath = join(repo.path, 'objects');
    const objects = await open(objectsPath, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW).catch((err: unknown) => {
      throw systemError(err, objectsPath, 'open');
    });
    undo.push('closing objects/', () => objects.close());

    const loop = await step(`${what}: attaching a loop device`, () => loopAttach(image.handle.fd, { name: objectRelPath(image.id) }));
    // Closed last: until erofs holds the device, this descriptor keeps it bound.
    undo.push(`closing ${loop.device}`, () => closeFd(loop.fd));

    const erofs = await step(`${what}: erofs`, () => fsOpen('erofs'));
    undo.push('closing the erofs context', () => closeFd(erofs));
    await step(`${what}: erofs source=${loop.device}`, () => fsConfigString(erofs, 'source', loop.device));
    await step(`${what}: erofs ro`, () => fsConfigFlag(erofs, 'ro'));
    await step(`${what}: erofs on ${loop.device}`, () => fsConfigCreate(erofs));
    const erofsMount = await step(`${what}: mounting erofs`, () => fsMount(erofs, { readOnly: true }));
    undo.push('closing the erofs mount', () => closeFd(erofsMount));

    const staging = await mkdtemp(join(tmpdir(), 'cfskit-erofs-'));
    undo.push(`removing ${staging}`, () => rmdir(staging));
    await step(`${what}: attaching erofs at ${staging}`, () => moveMount(erofsMount, staging));
    undo.push(`unmounting ${staging}`, () => unmount(staging, { detach: true }));
    const lower = await open(staging, constants.O_RDONLY | constants.O_DIRECTORY);
    undo.push('closing the erofs root', () => lower.close());

    const source = `${SOURCE_PREFIX}${image.id}`;
    const overlay = await step(`${what}: overlay`, () => fsOpen('overlay'));
    undo.push('closing the overlay context', () => closeFd(overlay));
    const hint = overlayHint(verity);
    const set = (key: string, value: string): Promise<void> =>
      step(`${what}: overlay ${key}=${value}`, () => fsConfigString(overlay, key, value), hint);
    await set('source', source);
    await set('metacopy', 'on');
    await set('redirect_dir', 'on');
    if (verity) await set('verity', 'require');
    // Layers by descriptor, so no path is parsed (or escaped) twice; "::"
    // makes objects/ a data-only layer (Linux 6.5+), reachable only through
    // the image's redirects, never listed in the tree.
    await set('lowerdir', `/proc/self/fd/${lower.fd}::/proc/self/fd/${objects.fd}`);
    await step(`${what}: creating the overlay`, () => fsConfigCreate(overlay), hint);
    const overlayMount = await step(`${what}: mounting the overlay`, () => fsMount(overlay));
    undo.push('closing the overlay mount', () => closeFd(overlayMount));
    await step(`${what}: attaching at ${target}`, () => moveMount(overlayMount, target));

    const problems = await undo.run();
    if (problems.length > 0) process.emitWarning(`mounted ${what} at ${target}, but cleaning up: ${problems.join('; ')}`, { code: 'CFSKIT_MOUNT_CLEANUP' });
    return { mountpoint: target, imageId: image.id, source, loopDevice: loop.device, verity };
  } catch (err) {
    const problems = await undo.run();
    if (problems.length > 0 && err instanceof Error) err.message += ` (and cleaning up: ${problems.join('; ')})`;
    throw err;
  }
}

export interface UnmountedImage {
  readonly mountpoint: string;
  readonly source: string;
  /** Loop devices of that image that detached after the unmount. */
  readonly loopDevicesReleased: readonly string[];
}

/** Loop devices bound to the image object `id` (by path; repositories may be anywhere). */
async function loopsOfImage(id: string): Promise<string[]> {
  const suffix = `/${objectRelPath(id)}`;
  return (await loopBindings()).filter((b) => b.backingFile.endsWith(suffix) || b.backingFile.endsWith(`${suffix} (deleted)`)).map((b) => b.device);
}

/** How long unmount waits for the kernel to detach the image's loop device. */
const RELEASE_WAIT_MS = 5000;

/**
 * Unmounts the composefs mount at `mountpoint` (refusing anything else
 * mounted there), then waits for its loop device to detach itself.
 */
export async function unmountImage(mountpoint: string): Promise<UnmountedImage> {
  requireRoot(`unmounting ${mountpoint}`);
  const target = await checkMountpoint(mountpoint);
  const top = topMountAt(await readMountinfo(), target);
  if (!top || top.fsType !== 'overlay' || !top.source.startsWith(SOURCE_PREFIX)) {
    const found = top ? `${top.fsType} from ${top.source}` : 'nothing';
    throw new InputError(mountpoint, `is not a composefs mount (${found} is mounted there)`);
  }
  const id = top.source.slice(SOURCE_PREFIX.length);
  const before = await loopsOfImage(id);
  await step(`unmounting ${target}`, () => unmount(target));
  let after = await loopsOfImage(id);
  // Autoclear runs as the last user of the device lets go, which can trail
  // the unmount a little. Another mount of the same image keeps its own.
  for (const deadline = Date.now() + RELEASE_WAIT_MS; after.length >= before.length && before.length > 0 && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 50));
    after = await loopsOfImage(id);
  }
  return { mountpoint: target, source: top.source, loopDevicesReleased: before.filter((d) => !after.includes(d)) };
}
