/**
 * Storing an object whose content arrives as a stream (a file inside a tar
 * read from stdin): written to a temporary object as it comes, hashed on
 * the way in an insecure repository, then sealed and published like any
 * other object. Memory does not grow with the object's size.
 */
import { write } from 'node:fs';
import { promisify } from 'node:util';
import { fsverity } from '../core/index.js';
import { resolveParams } from '../fsverity/index.js';
import { toObjectId, type ObjectId } from './object-id.js';
import type { ObjectStore, StoredObject } from './objects.js';
import { TempObject } from './temp-object.js';

const writeAsync = promisify(write);

export class ObjectWriter {
  #size = 0;
  #done = false;

  private constructor(
    private readonly store: ObjectStore,
    private readonly temp: TempObject,
    private readonly hasher: ReturnType<typeof fsverity.FileHasher.create> | undefined,
  ) {}

  /**
   * `options.digested`: the caller hashes the content itself (on another
   * thread) and passes the ID to `finish`, so it is not hashed here.
   */
  static async create(store: ObjectStore, options: { readonly digested?: boolean } = {}): Promise<ObjectWriter> {
    const temp = await TempObject.create(store.repoDir, store.tmpPath, store.durability);
    // A secure repository lets the kernel measure; no need to hash here.
    const hashHere = !store.secure && options.digested !== true;
    const hasher = hashHere ? fsverity.FileHasher.create(resolveParams({ hashAlg: store.hashAlg }).core) : undefined;
    return new ObjectWriter(store, temp, hasher);
  }

  async write(chunk: Uint8Array): Promise<void> {
    for (let done = 0; done < chunk.length; ) {
      done += (await writeAsync(this.temp.fd, chunk, done, chunk.length - done)).bytesWritten;
    }
    this.hasher?.update(chunk);
    this.#size += chunk.length;
  }

  /** Seals and publishes the object; `knownId` is its digest when the caller computed it (see `create`). */
  async finish(knownId?: ObjectId): Promise<StoredObject> {
    this.#done = true;
    try {
      const id = knownId ?? (this.hasher ? toObjectId(this.hasher.finish()) : undefined);
      return await this.store.finish(this.temp, this.#size, id, 'written');
    } catch (err) {
      await this.temp.discard();
      throw err;
    } finally {
      this.hasher?.[Symbol.dispose]();
    }
  }

  async abort(): Promise<void> {
    if (this.#done) return;
    this.#done = true;
    this.hasher?.[Symbol.dispose]();
    await this.temp.discard();
  }
}
