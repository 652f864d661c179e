/**
 * The repository's symlinks (streams/, images/ and their refs/): relative
 * targets computed the way composefs-rs computes them, atomic replacement,
 * and reading that refuses any link that would lead out of the repository.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readlink, rename, symlink, unlink } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { InputError, NotFoundError, systemError, isErrno } from '../../common/index.js';

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
export async function replaceSymlink(root: string, linkPath: string, targetPath: string): Promise<void> {
  const target = relativeTarget(linkPath, targetPath);
  const full = join(root, linkPath);
  await mkdir(dirname(full), { recursive: true, mode: 0o755 });
  try {
    await symlink(target, full);
    return;
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw systemError(err, full, 'symlink');
  }
  try {
    if ((await readlink(full)) === target) return;
  } catch (err) {
    if (!isErrno(err, 'EINVAL') && !isErrno(err, 'ENOENT')) throw systemError(err, full, 'readlink');
  }
  const temp = join(root, `.symlink-${randomBytes(6).toString('hex')}`);
  await symlink(target, temp);
  try {
    await rename(temp, full);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw systemError(err, full, 'rename');
  }
}

/** Checks that every directory from the root down to `relPath`'s parent is a real directory. */
export async function checkParents(root: string, relPath: string): Promise<void> {
  const parts = relPath.split('/');
  let path = root;
  for (const part of parts.slice(0, -1)) {
    path = join(path, part);
    let st;
    try {
      st = await lstat(path);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new NotFoundError(path, 'no such directory');
      throw systemError(err, path, 'lstat');
    }
    if (st.isSymbolicLink()) throw new InputError(path, 'is a symlink where the repository needs a directory; refusing to follow it');
    if (!st.isDirectory()) throw new InputError(path, 'is not a directory');
  }
}

/**
 * Reads the symlink at `relPath` and returns where it points, relative to
 * the repository root. A target that is absolute or climbs out of the
 * repository is an error.
 */
export async function readRepoLink(root: string, relPath: string): Promise<string> {
  await checkParents(root, relPath);
  const full = join(root, relPath);
  let target: string;
  try {
    target = await readlink(full);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new NotFoundError(full, 'does not exist');
    if (isErrno(err, 'EINVAL')) throw new InputError(full, 'is not a symlink');
    throw systemError(err, full, 'readlink');
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
export async function removeRefLink(root: string, refsDir: string, ref: string, what: string): Promise<void> {
  const path = join(root, refsDir, ref);
  try {
    if (!(await lstat(path)).isSymbolicLink()) throw new NotFoundError(path, 'is not a ref');
    await unlink(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new NotFoundError(`refs/${ref}`, `no such ${what}`);
    throw systemError(err, path, 'unlink');
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
