/**
 * Composefs images in use right now, which garbage collection keeps even
 * when nothing names them (composefs-rs would delete their objects under
 * the mount, its issue #346):
 * - overlays whose source is `composefs:<image>` in /proc/self/mountinfo,
 *   as cfskit and composefs-rs name them (the name is an image ID, or a
 *   `refs/…` name resolved here);
 * - loop devices (from sysfs, so every mount namespace counts) whose
 *   backing file is an object, `…/objects/xx/rest`, as cfskit's mounts
 *   attach the image.
 * An ID counts when this repository has that object: matching by content
 * rather than by path keeps an image seen through a bind mount or another
 * namespace too, and keeping an object another repository also has costs
 * nothing but space.
 */
import { loopBindings, readMountinfo, SOURCE_PREFIX, type LoopBinding, type MountEntry } from '../mount/index.js';
import { isObjectId, type ObjectId, type Repository } from '../repository/index.js';

export interface MountedImage {
  readonly id: ObjectId;
  /** Where it was seen: the mount point, or the loop device. */
  readonly seenAt: string;
}

const OBJECT_PATH = /\/objects\/([0-9a-f]{2})\/([0-9a-f]+)(?: \(deleted\))?$/;

/** Image names (IDs or `refs/…`) of composefs overlays, with their mount points. */
export function composefsSources(entries: readonly MountEntry[]): { name: string; mountpoint: string }[] {
  return entries
    .filter((e) => e.fsType === 'overlay' && e.source.startsWith(SOURCE_PREFIX))
    .map((e) => ({ name: e.source.slice(SOURCE_PREFIX.length), mountpoint: e.mountpoint }));
}

/** Object IDs of loop devices' backing files. */
export function loopObjects(bindings: readonly LoopBinding[]): { id: string; device: string }[] {
  const found: { id: string; device: string }[] = [];
  for (const b of bindings) {
    const m = OBJECT_PATH.exec(b.backingFile);
    if (m) found.push({ id: `${m[1]}${m[2]}`, device: b.device });
  }
  return found;
}

export async function mountedImages(repo: Repository): Promise<MountedImage[]> {
  const candidates: MountedImage[] = [];
  let entries: MountEntry[] = [];
  try {
    entries = await readMountinfo();
  } catch {
    // No /proc (not Linux): nothing can be mounted from here.
  }
  for (const { name, mountpoint } of composefsSources(entries)) {
    if (isObjectId(name, repo.hashAlg)) {
      candidates.push({ id: name, seenAt: mountpoint });
    } else if (name.startsWith('refs/')) {
      // An image ref is a root anyway; resolving it also covers a ref
      // re-pointed since the mount.
      const id = await repo.images.resolve(name).then((r) => r.id, () => undefined);
      if (id !== undefined) candidates.push({ id, seenAt: mountpoint });
    }
  }
  for (const { id, device } of loopObjects(await loopBindings())) {
    if (isObjectId(id, repo.hashAlg)) candidates.push({ id, seenAt: device });
  }
  const seen = new Set<string>();
  const mounted: MountedImage[] = [];
  for (const c of candidates) {
    if (seen.has(c.id) || !(await repo.objects.has(c.id))) continue;
    seen.add(c.id);
    mounted.push(c);
  }
  return mounted;
}
