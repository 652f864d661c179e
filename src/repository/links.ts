/**
 * Following the repository's chains of symlinks (a ref to a stream or
 * image entry, that entry to an object) without ever leaving the
 * repository, and opening the object at the end.
 */
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, NotFoundError, systemError, type HashAlg, errnoOf } from '../../common/index.js';
import { idFromObjectTarget, objectRelPath, type ObjectId } from './object-id.js';
import { checkParents, readRepoLink } from './symlinks.js';

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
export async function resolveLink(root: string, relPath: string, hashAlg: HashAlg): Promise<Resolved> {
  const chain: string[] = [];
  let current = relPath;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    chain.push(current);
    const target = await readRepoLink(root, current);
    if (target.startsWith('objects/')) {
      return { id: idFromObjectTarget(target, hashAlg, join(root, current)), chain };
    }
    if (!target.startsWith('streams/') && !target.startsWith('images/')) {
      throw new InputError(join(root, current), `points to "${target}", which is not a stream, image or object`);
    }
    current = target;
  }
  throw new InputError(join(root, relPath), `more than ${MAX_HOPS} symlinks deep (a loop?)`);
}

/** Opens objects/xx/rest read-only without following a symlink anywhere on the way. */
export async function openObjectFile(root: string, id: ObjectId): Promise<FileHandle> {
  const rel = objectRelPath(id);
  await checkParents(root, rel);
  const path = join(root, rel);
  try {
    return await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ENOENT') throw new NotFoundError(path, 'object is missing');
    if (code === 'ELOOP') throw new InputError(path, 'object is a symlink; refusing to follow it');
    throw systemError(err, path, 'open');
  }
}
