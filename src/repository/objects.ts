/**
 * The object store: content-addressed files under objects/, named by their
 * fs-verity digest. New content is stored by reflink, hardlink or copy
 * (in that order of preference), written so that a crash never leaves a
 * partial object under a final name, and verified: in a secure repository
 * the kernel enables fs-verity and its measurement must match; in an
 * insecure one the digest is computed here.
 */
import { close, constants, open, write } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  copyFileRange,
  enableVerity,
  ficlone,
  linkTmpfile,
  measureVerity,
  statx,
  VerityNotEnabledError,
} from '../../host-bindings/index.js';
import { IntegrityError, UnsupportedError, systemError } from '../errors.js';
import { digestBytes, digestFile } from '../fsverity/digest.js';
import { readChunks } from '../fsverity/reader.js';
import type { HashAlg } from '../fsverity/params.js';
import { objectPathname, toObjectId, type ObjectId } from './object-id.js';
import { linkIntoObjects, TempObject } from './temp-object.js';

const openAsync = promisify(open);
const closeAsync = promisify(close);
const writeAsync = promisify(write);

/** How an object came to be in the store, for import statistics. */
export type StoreMethod = 'reflinked' | 'hardlinked' | 'copied' | 'written' | 'already-present';

export interface StoredObject {
  readonly id: ObjectId;
  readonly size: number;
  readonly method: StoreMethod;
}

/**
 * State shared by the objects of one import: which (source device,
 * repository device) pairs cannot reflink, so each pair is probed once.
 */
export class ImportContext {
  private readonly noReflink = new Set<string>();

  reflinkKnownUnsupported(src: bigint, dst: bigint): boolean {
    return this.noReflink.has(`${src}:${dst}`);
  }

  markReflinkUnsupported(src: bigint, dst: bigint): void {
    this.noReflink.add(`${src}:${dst}`);
  }
}

export type StoreStrategy = 'reflink' | 'hardlink' | 'copy';

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
  /**
   * The source's digest, already computed by the caller from this very
   * content (which must not have changed since): an insecure repository
   * then does not read the file a second time. A secure one measures it
   * anyway, so a wrong value cannot produce a misnamed object there.
   */
  readonly knownId?: ObjectId;
}

const errnoOf = (err: unknown): string | undefined => {
  const e = err as { errno?: unknown; code?: unknown } | null;
  if (typeof e?.errno === 'string') return e.errno;
  return typeof e?.code === 'string' ? e.code : undefined;
};

const VERITY_BLOCK = 4096;

export class ObjectStore {
  readonly dir: string;
  private device: bigint | undefined;

  constructor(
    root: string,
    readonly hashAlg: HashAlg,
    /** Whether every object must have fs-verity (a secure repository). */
    readonly secure: boolean,
  ) {
    this.dir = join(root, 'objects');
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

  /** Stores bytes already in memory. */
  async ensureObject(data: Uint8Array): Promise<StoredObject> {
    const id = toObjectId(digestBytes(data, { hashAlg: this.hashAlg }));
    if (await this.has(id, data.length)) return { id, size: data.length, method: 'already-present' };
    const temp = await TempObject.create(this.dir);
    try {
      for (let done = 0; done < data.length; ) {
        done += (await writeAsync(temp.fd, data, done, data.length - done)).bytesWritten;
      }
      return await this.finish(temp, data.length, id, 'written');
    } catch (err) {
      await temp.discard();
      throw err;
    }
  }

  /**
   * Stores the content of a file without copying it where possible: a
   * reflink (FICLONE), else a hardlink of the source itself when it is on
   * the repository's file system, else a copy (unless `zerocopy`).
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
      const st = await statx(fd);
      if ((st.mode & 0o170000) !== 0o100000) throw new IntegrityError(name, 'is not a regular file');
      if (st.size !== BigInt(size)) throw new IntegrityError(name, `has ${st.size} bytes, expected ${size}`);
      let id: ObjectId | undefined;
      if (!this.secure) {
        id = options.knownId ?? (await this.digestFd(fd, name));
        if (await this.has(id, size)) return { id, size, method: 'already-present' };
      }
      const unchanged = async (): Promise<void> => {
        const now = await statx(fd);
        if (now.size !== st.size || now.mtimeSec !== st.mtimeSec || now.mtimeNsec !== st.mtimeNsec) {
          throw new IntegrityError(name, 'changed while it was being stored');
        }
      };
      const context = options.context ?? new ImportContext();
      const strategies = options.strategies ?? ['reflink', 'hardlink', 'copy'];
      const dst = await this.repositoryDevice();
      if (strategies.includes('reflink') && !context.reflinkKnownUnsupported(st.dev, dst)) {
        const reflinked = await this.tryReflink(fd, name, size, id, unchanged);
        if (reflinked) return reflinked;
        context.markReflinkUnsupported(st.dev, dst);
      }
      if (strategies.includes('hardlink') && st.dev === dst) {
        const hardlinked = await this.tryHardlink(fd, size, id, name);
        if (hardlinked) return hardlinked;
      }
      if (options.zerocopy || !strategies.includes('copy')) {
        throw new UnsupportedError(
          `${name}: neither a reflink nor a hardlink into ${this.dir} is possible` +
            `${st.dev === dst ? '' : ' (different file systems)'}, and copying is not allowed (zerocopy)`,
        );
      }
      return await this.copy(fd, name, size, id, unchanged);
    } finally {
      if (typeof source === 'string') await closeAsync(fd);
    }
  }

  private async repositoryDevice(): Promise<bigint> {
    this.device ??= (await statx(this.dir)).dev;
    return this.device;
  }

  private async tryReflink(
    fd: number,
    name: string,
    size: number,
    id: ObjectId | undefined,
    unchanged: () => Promise<void>,
  ): Promise<StoredObject | undefined> {
    const temp = await TempObject.create(this.dir);
    try {
      await ficlone(fd, temp.fd);
    } catch (err) {
      await temp.discard();
      const errno = errnoOf(err);
      // The file system pair cannot share extents; anything else is real.
      if (errno === 'EOPNOTSUPP' || errno === 'EXDEV' || errno === 'EINVAL' || errno === 'ENOTTY') return undefined;
      throw systemError(err, name, 'ioctl(FICLONE)');
    }
    try {
      return await this.finish(temp, size, id, 'reflinked', unchanged);
    } catch (err) {
      await temp.discard();
      throw err;
    }
  }

  /**
   * Links the source file itself into objects/: safe because image layer
   * files are never modified, and with fs-verity (secure repositories)
   * the kernel enforces that from now on.
   */
  private async tryHardlink(fd: number, size: number, known: ObjectId | undefined, name: string): Promise<StoredObject | undefined> {
    let id: ObjectId;
    try {
      id = known ?? (await this.enableAndMeasure(fd, name));
    } catch {
      // No fs-verity on the source (or not allowed): not linkable in a secure repository.
      return undefined;
    }
    if (known === undefined && (await this.has(id, size))) return { id, size, method: 'already-present' };
    try {
      await linkIntoObjects(this.dir, id, () => linkTmpfile(fd, this.pathOf(id)));
      return { id, size, method: 'hardlinked' };
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') return { id, size, method: 'already-present' };
      return undefined;
    }
  }

  private async copy(
    fd: number,
    name: string,
    size: number,
    id: ObjectId | undefined,
    unchanged: () => Promise<void>,
  ): Promise<StoredObject> {
    const temp = await TempObject.create(this.dir);
    try {
      const copied = await copyFileRange(fd, temp.fd, size);
      if (copied !== size) throw new IntegrityError(name, `copied ${copied} bytes, expected ${size} (the file changed)`);
      return await this.finish(temp, size, id, 'copied', unchanged);
    } catch (err) {
      await temp.discard();
      throw err;
    }
  }

  /**
   * Seals, verifies and links a complete temporary object. `expected` is
   * its ID when already known; `beforePublish` can veto at the last moment.
   */
  private async finish(
    temp: TempObject,
    size: number,
    expected: ObjectId | undefined,
    method: StoreMethod,
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

  /**
   * Bulk work stores many files at once: anything over 1 MiB goes to the
   * digest worker threads so both cores hash.
   */
  private async digestFd(fd: number, name: string): Promise<ObjectId> {
    return (await digestFile(fd, { hashAlg: this.hashAlg, parallelThreshold: 1 << 20 }, name)).hex;
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
