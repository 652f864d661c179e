/**
 * Storing a file's content through the addon: one call (batched with its
 * neighbours) checks whether the object exists, then reflinks, hardlinks or
 * copies it in the given order, enables fs-verity where the repository
 * requires it and links it under its name only once complete. Contents
 * held in memory (a tar's small files) go the same way through writeObject:
 * one call for dozens of them instead of six for each.
 */
import { HASH_ALG_INFO, IntegrityError, UnsupportedError } from '../../common/index.js';
import { storeObject, writeObject, type StoreStatus, type StoreStrategy } from '../../host-bindings/index.js';
import type { ImportContext } from './import-context.js';
import { objectPathname, toObjectId, type ObjectId } from './object-id.js';
import { VERITY_BLOCK, type ObjectStore, type StoreOutcome, type StoredObject } from './objects.js';

/** What each strategy, having worked, made of the object. */
const OUTCOME_OF: Readonly<Record<StoreStrategy, StoreOutcome>> = { reflink: 'reflinked', hardlink: 'hardlinked', copy: 'copied' };

function unreachable(status: never): never {
  throw new Error(`storeObjects answered with an unknown status ${String(status)}`);
}

export async function storeNatively(
  store: ObjectStore,
  fd: number,
  name: string,
  size: number,
  id: ObjectId | undefined,
  strategies: readonly StoreStrategy[],
  context: ImportContext,
): Promise<StoredObject> {
  const dst = await store.repositoryDevice();
  // objects/ by the descriptor opened beneath the repository: links land there, wherever its path now leads.
  const objectsDir = store.repoDir.confined ? await store.repoDir.objectsFd() : store.dir;
  const r = await storeObject(fd, objectsDir, {
    size,
    name: id === undefined ? '' : objectPathname(id),
    strategies,
    verityAlgorithm: store.secure ? HASH_ALG_INFO[store.hashAlg].kernelId : 0,
    verityBlockSize: VERITY_BLOCK,
    skipReflinkDevs: context.devicesWithoutReflink(dst),
  });
  if (r.reflinkUnsupported) context.markReflinkUnsupported(r.srcDev, dst);
  const found = id ?? (r.digest ? toObjectId(r.digest) : undefined);
  const status: StoreStatus = r.status;
  switch (status) {
    case 'stored':
    case 'exists':
      if (found === undefined) throw new IntegrityError(name, 'stored without an object ID');
      if (status === 'exists') return { id: found, size, method: 'already-present' };
      if (r.strategy === null) throw new IntegrityError(name, 'stored, but the addon did not say how');
      return { id: found, size, method: OUTCOME_OF[r.strategy] };
    case 'not-regular':
      throw new IntegrityError(name, 'is not a regular file');
    case 'size-mismatch':
      throw new IntegrityError(name, `has ${r.actualSize} bytes, expected ${size}`);
    case 'changed':
      throw new IntegrityError(name, 'changed while it was being stored');
    case 'digest-mismatch':
      throw new IntegrityError(name, `the kernel measured ${found ?? '?'}, not the digest computed for it`);
    case 'refused':
      throw new UnsupportedError(
        `${name}: neither a reflink nor a hardlink into ${store.dir} is possible` +
          `${r.srcDev === dst ? '' : ' (different file systems)'}, and copying is not allowed (zerocopy)`,
        { input: name },
      );
    default:
      return unreachable(status);
  }
}

/** Stores `data` (read in place: it must not change until this settles). */
export async function writeNatively(store: ObjectStore, data: Uint8Array, id: ObjectId | undefined): Promise<StoredObject> {
  // objects/ by its descriptor opened beneath the repository, as storeNatively.
  const objectsDir = store.repoDir.confined ? await store.repoDir.objectsFd() : store.dir;
  const r = await writeObject(Buffer.from(data.buffer, data.byteOffset, data.byteLength), objectsDir, {
    name: id === undefined ? '' : objectPathname(id),
    verityAlgorithm: store.secure ? HASH_ALG_INFO[store.hashAlg].kernelId : 0,
    verityBlockSize: VERITY_BLOCK,
  });
  const found = id ?? (r.digest ? toObjectId(r.digest) : undefined);
  const name = `new object of ${data.length} bytes`;
  if (found === undefined) throw new IntegrityError(name, 'stored without an object ID');
  if (r.status === 'exists') return { id: found, size: data.length, method: 'already-present' };
  if (r.status === 'stored') return { id: found, size: data.length, method: 'written' };
  throw new IntegrityError(name, r.status === 'digest-mismatch' ? `the kernel measured ${r.digest ? toObjectId(r.digest) : '?'}, not the digest computed for it` : `not stored (${r.status})`);
}
