/**
 * Storing objects without the addon, on any OS: the content is copied into
 * a temporary name in objects/ (hashed on the way), fsynced and renamed to
 * its object name; a finished file of the repository is renamed into place.
 * Insecure repositories only (there is no fs-verity without the addon), and
 * no reflinks or hardlinks: only the copy strategy.
 */
import { open } from 'node:fs/promises';
import { IntegrityError, UnsupportedError, writeAll } from '../../common/index.js';
import type { StoreStrategy } from '../../host-bindings/index.js';
import { fsverity } from '../core/index.js';
import { readChunks, resolveParams } from '../fsverity/index.js';
import { fsyncFile } from './durability.js';
import { toObjectId, type ObjectId } from './object-id.js';
import type { ObjectStore, StoredObject } from './objects.js';
import { renameIntoObjects, TempObject } from './temp-object.js';

/** Copies `fd`'s `size` bytes in as an object; `id`, when known, must be what the copy hashes to. */
export async function copyPortably(
  store: ObjectStore,
  fd: number,
  name: string,
  size: number,
  id: ObjectId | undefined,
  strategies: readonly StoreStrategy[],
): Promise<StoredObject> {
  if (id !== undefined && (await store.has(id, size))) return { id, size, method: 'already-present' };
  if (!strategies.includes('copy')) {
    throw new UnsupportedError(
      `${name}: storing it without copying needs a reflink or hardlink, which need cfskit's native host bindings (unavailable here)`,
      { input: name },
    );
  }
  const temp = await TempObject.create(store.dir, store.durability);
  const hasher = fsverity.FileHasher.create(resolveParams({ hashAlg: store.hashAlg }).core);
  try {
    let copied = 0;
    for await (const chunk of readChunks(fd, name, 0, size, size)) {
      hasher.update(chunk);
      await writeAll(temp.fd, chunk, copied);
      copied += chunk.length;
    }
    if (copied !== size) throw new IntegrityError(name, `has ${copied} bytes, expected ${size}`);
    const digest = toObjectId(hasher.finish());
    if (id !== undefined && digest !== id) throw new IntegrityError(name, 'changed while it was being stored');
    return await store.finish(temp, size, digest, 'copied');
  } catch (err) {
    await temp.discard();
    throw err;
  } finally {
    hasher[Symbol.dispose]();
  }
}

/** Renames a finished file of the repository (digest `id`) into place as that object. */
export async function adoptPortably(store: ObjectStore, file: { readonly path: string; readonly size: number }, id: ObjectId): Promise<StoredObject> {
  const handle = await open(file.path, 'r+');
  try {
    await fsyncFile(handle.fd, file.path);
  } finally {
    await handle.close();
  }
  const published = await renameIntoObjects(store.dir, file.path, id, store.durability);
  return { id, size: file.size, method: published === 'exists' ? 'already-present' : 'written' };
}
