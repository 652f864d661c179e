/**
 * The object store: content-addressed files under objects/, named by their
 * fs-verity digest. New content is stored by reflink, hardlink or copy (in
 * the caller's order of preference), written so that a crash never leaves a
 * partial object under a final name, and verified: in a secure repository
 * the kernel enables fs-verity and its measurement must match; in an
 * insecure one the digest is computed here.
 *
 * Two writers: with the addon, native-store.ts (one addon call per batch of
 * objects: reflink, hardlink or copy, O_TMPFILE, linkat); without it,
 * portable-store.ts (data copied into a temporary name, fsync, rename),
 * insecure repositories only. The store knows nothing of where content
 * comes from: a caller with its own check (tar-split's CRC-64, say) passes
 * a `verify` hook.
 */
import { close, constants, open, unlink } from 'node:fs';
import { chmod, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IntegrityError, VerityNotEnabledError, errnoOf, systemError, writeAll, type HashAlg } from '../../common/index.js';
import { enableVerity, measureVerity, statx, type StoreStrategy } from '../../host-bindings/index.js';
import { IMPORT_PARALLEL_THRESHOLD, digestBytes, digestFile, readChunks } from '../fsverity/index.js';
import type { Durability } from './durability.js';
import { ImportContext } from './import-context.js';
import { storeNatively, writeNatively } from './native-store.js';
import { objectPathname, toObjectId, type ObjectId } from './object-id.js';
import { adoptPortably, copyPortably } from './portable-store.js';
import { OBJECT_MODE, TempObject } from './temp-object.js';
import type { RepoDir } from './repo-dir.js';

const openAsync = promisify(open);
const closeAsync = promisify(close);
const unlinkAsync = promisify(unlink);

export { ImportContext } from './import-context.js';
export type { StoreStrategy };

/** How an object came to be in the store, for import statistics: one word per outcome. */
export type StoreOutcome = 'reflinked' | 'hardlinked' | 'copied' | 'written' | 'already-present';

export interface StoredObject {
  readonly id: ObjectId;
  readonly size: number;
  readonly method: StoreOutcome;
}

/** What a `verify` hook is shown of the source, before anything is stored. */
export interface VerifySource {
  /** An open descriptor of the source (read with explicit positions). */
  readonly fd: number;
  /** The source as errors name it. */
  readonly name: string;
  readonly size: number;
  /** The content, when the caller read it already. */
  readonly content: Uint8Array | undefined;
  /**
   * Set when the store would digest the content itself (an insecure
   * repository without a known ID): the hook may compute the digest in the
   * same read and return it, which saves reading the file twice.
   */
  readonly digest: HashAlg | undefined;
}

/** Throws to refuse the source; may return its digest (see VerifySource.digest). */
export type ContentVerifier = (source: VerifySource) => Promise<ObjectId | undefined>;

export interface FromFileOptions {
  /** Fail rather than copy a byte (no reflink and no hardlink possible). */
  readonly zerocopy?: boolean;
  /**
   * The strategies to try, in this order of preference; default all three.
   * (Leaving out `hardlink` keeps the source's inode untouched.)
   */
  readonly strategies?: readonly StoreStrategy[];
  readonly context?: ImportContext;
  /** Names the source in errors when it is given as a descriptor. */
  readonly name?: string;
  /** A check of the content by what its origin recorded, run before anything is stored. */
  readonly verify?: ContentVerifier;
  /** The content, when the caller has read it already: saves reading it again. */
  readonly content?: Uint8Array;
  /**
   * The source's digest, already computed by the caller from this very
   * content (which must not have changed since): an insecure repository
   * then does not read the file a second time. A secure one measures it
   * anyway, so a wrong value cannot produce a misnamed object there.
   */
  readonly knownId?: ObjectId;
}

export const VERITY_BLOCK = 4096;

export class ObjectStore {
  readonly dir: string;
  private device: bigint | undefined;

  constructor(
    /** The repository directory every create and link goes through. */
    readonly repoDir: RepoDir,
    /** objects/ by a confined path (RepoDir.objectsPath), for temporary files. */
    readonly tmpPath: string,
    readonly hashAlg: HashAlg,
    /** Whether every object must have fs-verity (a secure repository). */
    readonly secure: boolean,
    /** How writes are made durable, and whether the addon writes (see Durability). */
    readonly durability: Durability,
  ) {
    this.dir = repoDir.full('objects');
  }

  pathOf(id: ObjectId): string {
    return join(this.dir, objectPathname(id));
  }

  async has(id: ObjectId, size?: number): Promise<boolean> {
    try {
      const st = await lstat(this.pathOf(id));
      return st.isFile() && (size === undefined || st.size === size);
    } catch {
      return false;
    }
  }

  /**
   * Stores bytes already in memory. With the addon, objects written in the
   * same turn of the event loop go to it in one batch (one call instead of
   * six for each small file of a layer). `data` is read in place: it must
   * not change until this settles.
   */
  async ensureObject(data: Uint8Array): Promise<StoredObject> {
    const id = this.secure ? undefined : toObjectId(digestBytes(data, { hashAlg: this.hashAlg }));
    if (this.durability.native) return writeNatively(this, data, id);
    return this.#writeObject(data, id ?? toObjectId(digestBytes(data, { hashAlg: this.hashAlg })));
  }

  /** ensureObject without the addon: a temporary file, then linked (or renamed) into place. */
  async #writeObject(data: Uint8Array, id: ObjectId): Promise<StoredObject> {
    if (await this.has(id, data.length)) return { id, size: data.length, method: 'already-present' };
    const temp = await TempObject.create(this.repoDir, this.tmpPath, this.durability);
    try {
      await writeAll(temp.fd, data, 0);
      return await this.finish(temp, data.length, id, 'written');
    } catch (err) {
      await temp.discard();
      throw err;
    }
  }

  /**
   * Stores the content of a file without copying it where possible: a
   * reflink (FICLONE), else a hardlink of the source itself when it is on
   * the repository's file system, else a copy (unless `zerocopy`). Without
   * the addon: a copy.
   *
   * In an insecure repository the ID is the digest of the source, taken
   * first: the source is usually in the page cache while a fresh clone is
   * not, and content already stored costs nothing more. The source must not
   * change meanwhile (checked before anything is published). In a secure
   * repository the kernel measures what was stored.
   */
  async ensureObjectFromFile(source: string | number, size: number, options: FromFileOptions = {}): Promise<StoredObject> {
    const name = typeof source === 'string' ? source : (options.name ?? `fd ${source}`);
    let fd: number;
    try {
      fd = typeof source === 'number' ? source : await openAsync(source, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      throw systemError(err, name, 'open');
    }
    try {
      const wantsDigest = !this.secure && options.knownId === undefined;
      const verified = await options.verify?.({ fd, name, size, content: options.content, digest: wantsDigest ? this.hashAlg : undefined });
      const id = this.secure ? undefined : (options.knownId ?? verified ?? (await this.digestSource(fd, name, options.content)));
      const strategies = (options.strategies ?? ['reflink', 'hardlink', 'copy']).filter((s) => s !== 'copy' || !options.zerocopy);
      if (!this.durability.native) return await copyPortably(this, fd, name, size, id, strategies);
      return await storeNatively(this, fd, name, size, id, strategies, options.context ?? new ImportContext());
    } finally {
      if (typeof source === 'string') await closeAsync(fd);
    }
  }

  /**
   * Makes a finished file written inside the repository (a splitstream, an
   * image) an object, and removes the file: moved into place where it can
   * be, else stored from it like any source.
   */
  async adoptFile(file: { readonly path: string; readonly size: number }): Promise<StoredObject> {
    try {
      if (!this.durability.native) {
        const id = (await digestFile(file.path, { hashAlg: this.hashAlg, parallelThreshold: IMPORT_PARALLEL_THRESHOLD })).hex;
        await chmod(file.path, OBJECT_MODE);
        return await adoptPortably(this, file, id);
      }
      return await this.ensureObjectFromFile(file.path, file.size);
    } finally {
      await unlinkAsync(file.path).catch(() => undefined);
    }
  }

  /** The repository's device, for remembering where reflinks fail (the addon's statx). */
  async repositoryDevice(): Promise<bigint> {
    this.device ??= (await statx(this.dir)).dev;
    return this.device;
  }

  /**
   * Seals, verifies and links a complete temporary object. `expected` is
   * its ID when already known; `beforePublish` can veto at the last moment.
   * (Public for ObjectWriter and the portable store, which stream content
   * into a TempObject.)
   */
  async finish(
    temp: TempObject,
    size: number,
    expected: ObjectId | undefined,
    method: StoreOutcome,
    beforePublish?: () => Promise<void>,
  ): Promise<StoredObject> {
    const readOnly = await temp.sealed();
    try {
      const name = expected ? `object ${expected}` : 'new object';
      const id = this.secure ? await this.enableAndMeasure(readOnly, name) : (expected ?? (await this.digestFd(readOnly, name)));
      if (expected !== undefined && id !== expected) {
        throw new IntegrityError(name, `the kernel measured ${id} after writing it`);
      }
      await beforePublish?.();
      const published = await temp.publish(readOnly, id);
      return { id, size, method: published === 'exists' ? 'already-present' : method };
    } finally {
      await closeAsync(readOnly);
    }
  }

  /** The source's digest: from memory if the caller read it, else read here (large files on the digest threads). */
  private async digestSource(fd: number, name: string, content: Uint8Array | undefined): Promise<ObjectId> {
    if (content && content.length < IMPORT_PARALLEL_THRESHOLD) return toObjectId(digestBytes(content, { hashAlg: this.hashAlg }));
    return this.digestFd(fd, name);
  }

  private async digestFd(fd: number, name: string): Promise<ObjectId> {
    return (await digestFile(fd, { hashAlg: this.hashAlg, parallelThreshold: IMPORT_PARALLEL_THRESHOLD }, name)).hex;
  }

  /** Enables fs-verity (tolerating "already enabled") and returns the kernel's digest. */
  private async enableAndMeasure(fd: number, name: string): Promise<ObjectId> {
    try {
      await enableVerity(fd, { hashAlg: this.hashAlg, blockSize: VERITY_BLOCK }, name);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
    }
    const m = await measureVerity(fd, name);
    if (m.hashAlg !== this.hashAlg) throw new IntegrityError(name, `has fs-verity with ${m.hashAlg}, the repository uses ${this.hashAlg}`);
    return m.hex;
  }

  /**
   * Checks an object's content: in a secure repository the kernel's
   * measurement, and every block read so the kernel checks it; otherwise a
   * digest computed here. `digest` differs from `id` when the object is
   * damaged.
   */
  async verify(id: ObjectId, fd: number): Promise<Verification> {
    const name = `objects/${objectPathname(id)}`;
    if (!this.secure) return { kind: 'computed', digest: await this.digestFd(fd, name) };
    let digest: ObjectId;
    try {
      digest = (await measureVerity(fd, name)).hex;
    } catch (err) {
      if (err instanceof VerityNotEnabledError) return { kind: 'verity-missing' };
      throw err;
    }
    // The measurement is what the file should hold; only reading every
    // block makes the kernel check what it does hold.
    const { size } = await statx(fd);
    try {
      for await (const chunk of readChunks(fd, name, 0, Number(size))) void chunk;
    } catch (err) {
      return { kind: 'verity-failed', detail: err instanceof Error ? err.message : String(err) };
    }
    return { kind: 'measured', digest };
  }
}

export type Verification =
  | { readonly kind: 'measured' | 'computed'; readonly digest: ObjectId }
  /** A secure repository's object without fs-verity. */
  | { readonly kind: 'verity-missing' }
  /** The kernel refused to read some block: the data on disk is damaged. */
  | { readonly kind: 'verity-failed'; readonly detail: string };

/** Throws an IntegrityError naming the object unless the verification found `id`. */
export function expectVerified(v: Verification, id: ObjectId): void {
  const name = `objects/${objectPathname(id)}`;
  if (v.kind === 'verity-missing') throw new IntegrityError(name, 'has no fs-verity, but the repository requires it');
  if (v.kind === 'verity-failed') throw new IntegrityError(name, `content fails its fs-verity check: ${v.detail}`);
  if (v.digest !== id) throw new IntegrityError(name, `content digest is ${v.digest}`);
}
