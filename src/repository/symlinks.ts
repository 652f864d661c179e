/**
 * The repository's symlinks (streams/, images/ and their refs/): relative
 * targets computed the way composefs-rs computes them, atomic replacement,
 * and reading that refuses any link that would lead out of the repository.
 * Every call goes through the repository directory (repo-dir.ts), so no
 * directory on the way is ever a symlink followed.
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { InputError, NotFoundError, systemError, isErrno } from '../../common/index.js';
import type { RepoDir } from './repo-dir.js';

/** The relative target for a link at `linkPath` to `targetPath` (both repo-relative). */
export function relativeTarget(linkPath: string, targetPath: string): string {
  const from = posix.dirname(linkPath).split('/');
  const to = targetPath.split('/');
  let common = 0;
  while (common < from.length && common < to.length - 1 && from[common] === to[common]) common++;
  return [...from.slice(common).map(() => '..'), ...to.slice(common)].join('/');
}

/**
 * Points `linkPath` at `targetPath`, creating parent directories; an
 * existing link is replaced atomically (a temporary link renamed over it).
 */
export async function replaceSymlink(dir: RepoDir, linkPath: string, targetPath: string): Promise<void> {
  const target = relativeTarget(linkPath, targetPath);
  await dir.mkdirs(posix.dirname(linkPath));
  try {
    await dir.symlink(target, linkPath);
    return;
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw err;
  }
  try {
    if ((await dir.readlink(linkPath)) === target) return;
  } catch (err) {
    if (!isErrno(err, 'EINVAL', 'ENOENT')) throw err;
  }
  const temp = `.symlink-${randomBytes(6).toString('hex')}`;
  await dir.symlink(target, temp);
  try {
    await dir.rename(temp, linkPath);
  } catch (err) {
    await dir.unlink(temp).catch(() => undefined);
    throw err;
  }
}

/**
 * Reads the symlink at `relPath` and returns where it points, relative to
 * the repository root. A target that is absolute or climbs out of the
 * repository is an error.
 */
export async function readRepoLink(dir: RepoDir, relPath: string): Promise<string> {
  const full = dir.full(relPath);
  let target: string;
  try {
    target = await dir.readlink(relPath);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new NotFoundError(full, 'does not exist');
    if (isErrno(err, 'EINVAL')) throw new InputError(full, 'is not a symlink');
    throw err;
  }
  if (target.startsWith('/')) throw new InputError(full, `points to an absolute path "${target}" outside the repository`);
  if (target.includes('\0')) throw new InputError(full, 'has a NUL byte in its target');
  const resolved = posix.normalize(posix.join(posix.dirname(relPath), target));
  if (resolved === '..' || resolved.startsWith('../') || resolved === '.') {
    throw new InputError(full, `points to "${target}", outside the repository`);
  }
  return resolved;
}

/** Removes the ref symlink `refsDir/ref`; `what` names the kind in errors. */
export async function removeRefLink(dir: RepoDir, refsDir: string, ref: string, what: string): Promise<void> {
  const rel = `${refsDir}/${ref}`;
  try {
    await dir.readlink(rel);
    await dir.unlink(rel);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new NotFoundError(`refs/${ref}`, `no such ${what}`);
    if (isErrno(err, 'EINVAL')) throw new NotFoundError(dir.full(rel), 'is not a ref');
    throw err;
  }
}

/**
 * Every entry below the repository directory `rel` that is not a
 * directory (symlinks, and anything else for fsck to report), depth first,
 * repository-relative. A symlinked directory is listed, never entered:
 * `readdir({ recursive })` follows it, so a ref to / would walk the whole
 * file system. An absent `rel` has nothing below it.
 */
export async function entriesBelow(root: string, rel: string): Promise<{ rel: string; symlink: boolean }[]> {
  const out: { rel: string; symlink: boolean }[] = [];
  const walk = async (dirRel: string): Promise<void> => {
    const dir = join(root, dirRel);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isErrno(err, 'ENOENT') && dirRel === rel) return;
      throw systemError(err, dir, 'readdir');
    }
    for (const entry of entries) {
      const child = `${dirRel}/${entry.name}`;
      if (entry.isDirectory()) await walk(child);
      else out.push({ rel: child, symlink: entry.isSymbolicLink() });
    }
  };
  await walk(rel);
  return out;
}
