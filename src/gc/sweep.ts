/**
 * Removing what is not live, in an order that keeps the repository
 * consistent at every instant, so a GC killed anywhere leaves nothing
 * fsck would complain about:
 *   1. the first-level links (`streams/<id>`, `images/<id>`) whose objects
 *      are going, then a syncfs so they are gone on disk before…
 *   2. …the unreachable objects themselves;
 *   3. links left broken (below `refs/`, or broken before this run);
 *   4. temporary files a killed writer left (`objects/.tmp-*`,
 *      `.symlink-*`), only ever safe under the exclusive lock.
 * A dry run walks the same steps and counts what each would remove,
 * including the links that would break (cfsctl's dry run counts only the
 * links broken already).
 */
import { lstatSync, unlinkSync } from 'node:fs';
import { lstat, readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { systemError } from '../../common/index.js';
import { checkDirectory, listEntries, listRefs, type Category, type LinkState } from './links.js';
import { checkParents, isObjectId, type ObjectId, type Repository } from '../repository/index.js';

export interface SweepResult {
  objectsRemoved: number;
  objectsBytes: number;
  imagesPruned: number;
  streamsPruned: number;
  tempFilesRemoved: number;
}

export interface SweepProgress {
  (stage: 'objects', done: number, total: number): void;
}

/** Temporary names cfskit's writers use (temp-object.ts, symlinks.ts). */
const TEMP_OBJECT = /^\.tmp-[0-9a-f]{16}$/;
const TEMP_SYMLINK = /^\.symlink-[0-9a-f]{12}$/;

const isErrno = (err: unknown, code: string): boolean => (err as NodeJS.ErrnoException | null)?.code === code;

/** Whether a link leads nowhere once the sweep is done. */
async function breaks(repo: Repository, link: LinkState, live: ReadonlySet<ObjectId>): Promise<boolean> {
  if (link.id === undefined) return link.problem?.code === 'not-found';
  return !live.has(link.id) || !(await repo.objects.has(link.id));
}

async function removeLink(repo: Repository, rel: string): Promise<boolean> {
  await checkParents(repo.path, rel);
  const path = join(repo.path, rel);
  try {
    if (!(await lstat(path)).isSymbolicLink()) return false;
    await unlink(path);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw systemError(err, path, 'unlink');
  }
}

/** After the objects went, a link is broken exactly when stat (following it) finds nothing. */
async function isBrokenNow(repo: Repository, rel: string): Promise<boolean> {
  try {
    await stat(join(repo.path, rel));
    return false;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return true;
    throw systemError(err, join(repo.path, rel), 'stat');
  }
}

async function listNames(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw systemError(err, path, 'readdir');
  }
}

/** The object directories (`objects/xx`), in order. */
async function objectDirs(repo: Repository): Promise<string[]> {
  if (!(await checkDirectory(repo, 'objects'))) return [];
  const dirs: string[] = [];
  for (const dir of (await listNames(join(repo.path, 'objects'))).filter((d) => /^[0-9a-f]{2}$/.test(d)).sort()) {
    if (await checkDirectory(repo, `objects/${dir}`)) dirs.push(dir);
  }
  return dirs;
}

/**
 * `ignored`: links (repository-relative) the caller removes itself, which
 * a dry run must not count as pruned.
 */
export async function sweep(repo: Repository, live: ReadonlySet<ObjectId>, dryRun: boolean, ignored: ReadonlySet<string>, progress?: SweepProgress): Promise<SweepResult> {
  const result: SweepResult = { objectsRemoved: 0, objectsBytes: 0, imagesPruned: 0, streamsPruned: 0, tempFilesRemoved: 0 };
  const count = (category: Category): void => {
    if (category === 'images') result.imagesPruned++;
    else result.streamsPruned++;
  };
  // 1. Entry links first: no link ever points at a removed object.
  const pruned = new Set<string>();
  for (const category of ['images', 'streams'] as const) {
    for (const link of (await listEntries(repo, category)).values()) {
      if (!(await breaks(repo, link, live))) continue;
      if (dryRun || (await removeLink(repo, link.rel))) {
        pruned.add(link.rel);
        count(category);
      }
    }
  }
  if (!dryRun && pruned.size > 0) await repo.sync();

  // 2. The objects, one directory at a time (names that are not object
  // IDs of this repository are not ours to remove).
  const dirs = await objectDirs(repo);
  // Synchronous calls, one directory (a few hundred objects) at a time:
  // each promise-based call costs more than the system call itself, and
  // the event loop gets its turn between directories.
  const removeObject = (path: string): void => {
    let size: number;
    try {
      const st = lstatSync(path);
      if (st.isDirectory()) return;
      size = st.size;
      if (!dryRun) unlinkSync(path);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return;
      throw systemError(err, path, dryRun ? 'lstat' : 'unlink');
    }
    result.objectsRemoved++;
    result.objectsBytes += size;
  };
  for (const [n, dir] of dirs.entries()) {
    progress?.('objects', n, dirs.length);
    const dirPath = join(repo.path, 'objects', dir);
    for (const name of await listNames(dirPath)) {
      const id = `${dir}${name}`;
      if (!live.has(id) && isObjectId(id, repo.hashAlg)) removeObject(join(dirPath, name));
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  progress?.('objects', dirs.length, dirs.length);

  // 3. Links broken now: refs to pruned entries, links broken before.
  for (const category of ['images', 'streams'] as const) {
    const links = [...(await listEntries(repo, category)).values(), ...(await listRefs(repo, category))];
    for (const link of links) {
      if (pruned.has(link.rel) || ignored.has(link.rel)) continue;
      // A dry run removed nothing, so it asks what step 2 would have left.
      const broken = dryRun ? await breaks(repo, link, live) : await isBrokenNow(repo, link.rel);
      if (!broken) continue;
      if (dryRun || (await removeLink(repo, link.rel))) count(category);
    }
  }

  // 4. Leftovers of killed writers.
  const temps = [
    ...(await listNames(join(repo.path, 'objects'))).filter((n) => TEMP_OBJECT.test(n)).map((n) => `objects/${n}`),
    ...(await listNames(repo.path)).filter((n) => TEMP_SYMLINK.test(n)),
  ];
  for (const rel of temps) {
    if (!dryRun) {
      try {
        await unlink(join(repo.path, rel));
      } catch (err) {
        if (isErrno(err, 'ENOENT')) continue;
        throw systemError(err, join(repo.path, rel), 'unlink');
      }
    }
    result.tempFilesRemoved++;
  }
  return result;
}

