/**
 * Following the repository's chains of symlinks (a ref to a stream or
 * image entry, that entry to an object) without ever leaving the
 * repository, and opening the object at the end.
 */
import type { FileHandle } from 'node:fs/promises';
import { InputError, NotFoundError, fileKind, systemError, type HashAlg, errnoOf } from '../../common/index.js';
import { idFromObjectTarget, objectRelPath, type ObjectId } from './object-id.js';
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

/** Opens objects/xx/rest read-only without following a symlink anywhere on the way. */
export async function openObjectFile(dir: RepoDir, id: ObjectId): Promise<FileHandle> {
  const rel = objectRelPath(id);
  const path = dir.full(rel);
  let handle: FileHandle;
  try {
    // Confined, and non-blocking: a FIFO put in an object's place must not hang the reader.
    handle = await dir.open(rel);
  } catch (err) {
    if (err instanceof InputError || err instanceof NotFoundError) throw err;
    const code = errnoOf(err);
    if (code === 'ENOENT') throw new NotFoundError(path, 'object is missing');
    if (code === 'ELOOP') throw new InputError(path, 'object is a symlink; refusing to follow it');
    if (code === 'ENXIO') throw new InputError(path, 'object is not a regular file');
    throw systemError(err, path, 'open');
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
