/**
 * The two link trees garbage collection reads (`streams/`, `images/`): the
 * first-level entries (content ID or image ID → object) and the refs below
 * `refs/` (names → entries), each resolved without leaving the repository.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { CfskitError, InputError, NotFoundError, systemError } from '../../common/index.js';
import { resolveLink, entriesBelow, type ObjectId, type Repository } from '../repository/index.js';

export type Category = 'streams' | 'images';

/** A link and what it leads to now. */
export interface LinkState {
  /** Repository-relative path of the link. */
  readonly rel: string;
  /** The object at the end of the chain; undefined when a hop is missing. */
  readonly id: ObjectId | undefined;
  /** Why it could not be followed (absent when `id` is set). */
  readonly problem?: CfskitError;
}

/** Fails unless `rel` is a real directory (or absent): GC never follows a symlinked directory. */
export async function checkDirectory(repo: Repository, rel: string): Promise<boolean> {
  const path = join(repo.path, rel);
  try {
    const st = await lstat(path);
    if (st.isSymbolicLink()) throw new InputError(path, 'is a symlink where the repository needs a directory; refusing to follow it');
    if (!st.isDirectory()) throw new InputError(path, 'is not a directory');
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw systemError(err, path, 'lstat');
  }
}

async function follow(repo: Repository, rel: string): Promise<LinkState> {
  try {
    return { rel, id: (await resolveLink(repo.path, rel, repo.hashAlg)).id };
  } catch (err) {
    if (err instanceof CfskitError) return { rel, id: undefined, problem: err };
    throw err;
  }
}

/** The first-level symlinks of `category/` (not refs/, not temporary names), by name. */
export async function listEntries(repo: Repository, category: Category): Promise<Map<string, LinkState>> {
  const entries = new Map<string, LinkState>();
  if (!(await checkDirectory(repo, category))) return entries;
  const dir = join(repo.path, category);
  let names;
  try {
    names = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw systemError(err, dir, 'readdir');
  }
  for (const entry of names) {
    // Anything else here is not a link GC made or may remove; fsck reports it.
    if (entry.name === 'refs' || entry.name.startsWith('.') || !entry.isSymbolicLink()) continue;
    entries.set(entry.name, await follow(repo, `${category}/${entry.name}`));
  }
  return entries;
}

/** Every symlink below `category/refs/`, each followed to its object. */
export async function listRefs(repo: Repository, category: Category): Promise<LinkState[]> {
  const base = `${category}/refs`;
  if (!(await checkDirectory(repo, category)) || !(await checkDirectory(repo, base))) return [];
  const refs: LinkState[] = [];
  const links = (await entriesBelow(repo.path, base)).filter((e) => e.symlink).map((e) => e.rel);
  for (const rel of links.sort()) refs.push(await follow(repo, rel));
  return refs;
}

/** A ref that cannot be a root: what is wrong, and how to get rid of it. */
export function unusableRef(ref: LinkState): CfskitError {
  const problem = ref.problem;
  const remedy = ref.rel.startsWith('streams/refs/oci/') ? 'remove the tag (cfskit oci untag) or' : '';
  const why = problem instanceof NotFoundError ? `is dangling (${problem.message})` : `cannot be followed (${problem?.message ?? 'unknown'})`;
  return new InputError(
    ref.rel,
    `${why}; garbage collection cannot know what it was meant to keep, so it removes nothing: ${remedy} remove the link, then run gc again`.replace('  ', ' '),
    { cause: problem },
  );
}
