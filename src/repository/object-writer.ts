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
import { toObjectId } from './object-id.js';
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

  static async create(store: ObjectStore): Promise<ObjectWriter> {
    const temp = await TempObject.create(store.repoDir, store.tmpPath, store.durability);
    // A secure repository lets the kernel measure; no need to hash here.
    const hasher = store.secure ? undefined : fsverity.FileHasher.create(resolveParams({ hashAlg: store.hashAlg }).core);
    return new ObjectWriter(store, temp, hasher);
  }

  async write(chunk: Uint8Array): Promise<void> {
    for (let done = 0; done < chunk.length; ) {
      done += (await writeAsync(this.temp.fd, chunk, done, chunk.length - done)).bytesWritten;
    }
    this.hasher?.update(chunk);
    this.#size += chunk.length;
  }

  async finish(): Promise<StoredObject> {
    this.#done = true;
    try {
      const id = this.hasher ? toObjectId(this.hasher.finish()) : undefined;
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
