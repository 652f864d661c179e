/**
 * Composefs mounts for tests, never left behind: withComposefsMount mounts
 * an image of a repository on a fresh directory, runs the body, unmounts
 * (lazily as a last resort, which then fails the test) and removes the
 * directory however the body ends; an exit hook unmounts whatever a dying
 * process still has mounted. leftovers() is what a test asserts is empty:
 * mounts of cfskit's and loop devices bound to a repository's objects.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmdirSync } from 'node:fs';
import { mkdtemp, readdir, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountImage, unmountImage, type MountedImage, type MountOptions } from '../../src/mount/composefs.js';
import { loopBindings, parseMountinfo } from '../../src/mount/mountinfo.js';
import type { Repository } from '../../src/repository/repository.js';
import { haveRoot } from './prereq.js';

/** Why composefs mounts cannot be tested here, for gated(). */
export function composefsPrereqs(): (string | undefined)[] {
  return [
    process.platform === 'linux' ? undefined : 'needs Linux',
    haveRoot(),
    existsSync('/dev/loop-control') ? undefined : 'no /dev/loop-control (loop devices unavailable)',
  ];
}

const mounted = new Set<string>();

function unmountAllNow(): void {
  for (const dir of mounted) {
    spawnSync('umount', ['--lazy', dir]);
    try {
      rmdirSync(dir);
    } catch {
      // still busy; nothing more to do on the way out
    }
  }
  mounted.clear();
}
process.on('exit', unmountAllNow);

export function isMountpoint(dir: string): boolean {
  return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8')).some((m) => m.mountpoint === dir);
}

/** Mounts `name` of `repo`, runs `body` with the mount, then undoes everything. */
export async function withComposefsMount<T>(
  repo: Repository,
  name: string,
  body: (mountpoint: string, mount: MountedImage) => Promise<T>,
  options: MountOptions = {},
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'cfskit-composefs-'));
  mounted.add(dir);
  let result: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    const mount = await mountImage(repo, name, dir, options);
    result = { ok: true, value: await body(dir, mount) };
  } catch (error) {
    result = { ok: false, error };
  }
  const problems: string[] = [];
  if (isMountpoint(dir)) {
    await unmountImage(dir).catch((err: unknown) => {
      problems.push(`unmount: ${String(err)}`);
      spawnSync('umount', ['--lazy', dir]);
    });
  }
  if (isMountpoint(dir)) problems.push(`${dir} is still mounted`);
  else await rmdir(dir).catch((err: unknown) => problems.push(String(err)));
  mounted.delete(dir);
  if (!result.ok) throw result.error;
  if (problems.length > 0) throw new Error(`withComposefsMount cleanup: ${problems.join('; ')}`);
  return result.value;
}

/**
 * What a composefs mount of `repo` may have left: overlay mounts with a
 * composefs: source, erofs staging mounts, staging directories, loop
 * devices bound to files under the repository.
 */
export async function leftovers(repoPath: string): Promise<string[]> {
  const left: string[] = [];
  for (const m of parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'))) {
    if (m.source.startsWith('composefs:') || m.mountpoint.includes('/cfskit-erofs-')) left.push(`${m.fsType} ${m.source} at ${m.mountpoint}`);
  }
  for (const b of await loopBindings()) if (b.backingFile.startsWith(`${repoPath}/`)) left.push(`${b.device} bound to ${b.backingFile}`);
  for (const name of await readdir(tmpdir())) if (name.startsWith('cfskit-erofs-')) left.push(`${join(tmpdir(), name)} exists`);
  return left;
}

/** Polls leftovers() until empty (a loop device detaches a moment after its last user). */
export async function waitNoLeftovers(repoPath: string, timeoutMs = 5000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let left = await leftovers(repoPath);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = await leftovers(repoPath);
  }
  return left;
}
