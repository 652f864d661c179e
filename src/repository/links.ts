/**
 * Following the repository's chains of symlinks (a ref to a stream or
 * image entry, that entry to an object) without ever leaving the
 * repository, and opening the object at the end.
 */
import { closeSync, fstatSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { CfskitError, InputError, NotFoundError, fileKind, systemError, type HashAlg, errnoOf } from '../../common/index.js';
import { idFromObjectTarget, objectPathname, objectRelPath, type ObjectId } from './object-id.js';
import type { RepoDir } from './repo-dir.js';
import { readRepoLink } from './symlinks.js';

const MAX_HOPS = 8;

export interface Resolved {
  readonly id: ObjectId;
  /** The links followed, repository-relative, first to last. */
  readonly chain: readonly string[];
}

/**
 * Follows `relPath` (a link below streams/ or images/) to the object it
 * names. Every hop must stay in the repository and end in objects/.
 */
export async function resolveLink(dir: RepoDir, relPath: string, hashAlg: HashAlg): Promise<Resolved> {
  const chain: string[] = [];
  let current = relPath;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    chain.push(current);
    const target = await readRepoLink(dir, current);
    if (target.startsWith('objects/')) {
      return { id: idFromObjectTarget(target, hashAlg, dir.full(current)), chain };
    }
    if (!target.startsWith('streams/') && !target.startsWith('images/')) {
      throw new InputError(dir.full(current), `points to "${target}", which is not a stream, image or object`);
    }
    current = target;
  }
  throw new InputError(dir.full(relPath), `more than ${MAX_HOPS} symlinks deep (a loop?)`);
}

/** The error for a failed open of the object at `path`, as both opens word it. */
function openError(err: unknown, path: string): CfskitError {
  if (err instanceof InputError || err instanceof NotFoundError) return err;
  const code = errnoOf(err);
  if (code === 'ENOENT') return new NotFoundError(path, 'object is missing');
  if (code === 'ELOOP') return new InputError(path, 'object is a symlink; refusing to follow it');
  if (code === 'ENXIO') return new InputError(path, 'object is not a regular file');
  return systemError(err, path, 'open');
}

/** Opens objects/xx/rest read-only without following a symlink anywhere on the way. */
export async function openObjectFile(dir: RepoDir, id: ObjectId): Promise<FileHandle> {
  const rel = objectRelPath(id);
  const path = dir.full(rel);
  let handle: FileHandle;
  try {
    // Confined, and non-blocking: a FIFO put in an object's place must not hang the reader.
    handle = await dir.open(rel);
  } catch (err) {
    throw openError(err, path);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new InputError(path, `object is ${fileKind(st)}, not a regular file`);
    return handle;
  } catch (err) {
    await handle.close();
    throw err instanceof InputError ? err : systemError(err, path, 'fstat');
  }
}

/**
 * openObjectFile on this thread (see RepoDir.openSync): the descriptor,
 * which the caller closes, and the object's size.
 */
export function openObjectFileSync(dir: RepoDir, id: ObjectId): { fd: number; size: number } {
  // The path only when an error names it: this runs for every object of a check.
  const path = (): string => dir.full(objectRelPath(id));
  let fd: number;
  try {
    fd = dir.openInObjectsSync(objectPathname(id));
  } catch (err) {
    throw openError(err, path());
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputError(path(), `object is ${fileKind(st)}, not a regular file`);
    return { fd, size: st.size };
  } catch (err) {
    closeSync(fd);
    throw err instanceof InputError ? err : systemError(err, path(), 'fstat');
  }
}
