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
import { enableVerity, hostAvailability, measureVerity, statx, storeObject, VerityNotEnabledError, writeObject, type StoreMethodName } from '../../host-bindings/index.js';
import { IntegrityError, UnsupportedError, systemError } from '../errors.js';
import { digestBytes, digestFile } from '../fsverity/digest.js';
import { readChunks } from '../fsverity/reader.js';
import { tarsplit } from '../core/wasm.js';
import type { HashAlg } from '../fsverity/params.js';
import { objectPathname, toObjectId, type ObjectId } from './object-id.js';
import { TempObject } from './temp-object.js';

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

  /** Source devices known not to reflink into `dst`. */
  devicesWithoutReflink(dst: bigint): bigint[] {
    const suffix = `:${dst}`;
    return [...this.noReflink].filter((k) => k.endsWith(suffix)).map((k) => BigInt(k.slice(0, -suffix.length)));
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
  /** Refuse content whose CRC-64/GO-ISO (what tar-split records) differs. */
  readonly crc64?: bigint;
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

const errnoOf = (err: unknown): string | undefined => {
  const e = err as { errno?: unknown; code?: unknown } | null;
  if (typeof e?.errno === 'string') return e.errno;
  return typeof e?.code === 'string' ? e.code : undefined;
};

const VERITY_BLOCK = 4096;

/**
 * Contents at least this large are hashed on the digest worker threads:
 * an import stores thousands of files at once, and the main thread alone
 * would use one core of the machine. Lower thresholds measured no faster
 * on 2 cores (bench/import): handing a file over costs about what hashing
 * it in place does.
 */
const WORKER_THRESHOLD = 1 << 20;

const METHODS: Record<StoreMethodName, StoreMethod> = { reflink: 'reflinked', link: 'hardlinked', copy: 'copied', write: 'written' };

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

  /**
   * Stores bytes already in memory. With the addon, objects written in the
   * same turn of the event loop go to it in one batch (one call instead of
   * six for each small file of a layer). `data` is read in place: it must
   * not change until this settles.
   */
  async ensureObject(data: Uint8Array): Promise<StoredObject> {
    const id = this.secure ? undefined : toObjectId(digestBytes(data, { hashAlg: this.hashAlg }));
    if (hostAvailability().available) {
      const content = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const r = await writeObject(content, this.dir, {
        name: id === undefined ? '' : objectPathname(id),
        verityAlgorithm: this.secure ? (this.hashAlg === 'sha256' ? 1 : 2) : 0,
        verityBlockSize: VERITY_BLOCK,
      });
      const found = id ?? (r.digest ? toObjectId(r.digest) : undefined);
      if (found === undefined || (r.outcome !== 'stored' && r.outcome !== 'exists')) {
        throw new IntegrityError(`new object of ${data.length} bytes`, `not stored (${r.outcome})`);
      }
      return { id: found, size: data.length, method: r.outcome === 'exists' ? 'already-present' : 'written' };
    }
    return this.#writeObject(data, id ?? toObjectId(digestBytes(data, { hashAlg: this.hashAlg })));
  }

  /** ensureObject without the addon: a temporary file, then linked (or renamed) into place. */
  async #writeObject(data: Uint8Array, id: ObjectId): Promise<StoredObject> {
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
      let id: ObjectId | undefined;
      if (!this.secure) {
        id = options.knownId ?? (await this.digestSource(fd, name, options));
      } else if (options.crc64 !== undefined) {
        checkCrc(name, options.crc64, options.content ? tarsplit.crc64Checksum(options.content) : await crc64Fd(fd, name, size));
      }
      const context = options.context ?? new ImportContext();
      const strategies = (options.strategies ?? ['reflink', 'hardlink', 'copy']).filter((s) => s !== 'copy' || !options.zerocopy);
      const dst = await this.repositoryDevice();
      // One call does the rest: exists? reflink / hardlink / copy, verity, link.
      const r = await storeObject(fd, this.dir, {
        size,
        name: id === undefined ? '' : objectPathname(id),
        methods: strategies.map((s) => (s === 'hardlink' ? 'link' : s)),
        verityAlgorithm: this.secure ? (this.hashAlg === 'sha256' ? 1 : 2) : 0,
        verityBlockSize: VERITY_BLOCK,
        skipReflinkDevs: context.devicesWithoutReflink(dst),
      });
      if (r.reflinkUnsupported) context.markReflinkUnsupported(r.srcDev, dst);
      const found = id ?? (r.digest ? toObjectId(r.digest) : undefined);
      switch (r.outcome) {
        case 'stored':
        case 'exists':
          if (found === undefined) throw new IntegrityError(name, 'stored without an object ID');
          return { id: found, size, method: r.outcome === 'exists' ? 'already-present' : METHODS[r.method ?? 'copy'] };
        case 'not-regular':
          throw new IntegrityError(name, 'is not a regular file');
        case 'size-mismatch':
          throw new IntegrityError(name, `has ${r.actualSize} bytes, expected ${size}`);
        case 'changed':
          throw new IntegrityError(name, 'changed while it was being stored');
        case 'digest-mismatch':
          throw new IntegrityError(name, `the kernel measured ${found ?? '?'}, not the digest computed for it`);
        default:
          throw new UnsupportedError(
            `${name}: neither a reflink nor a hardlink into ${this.dir} is possible` +
              `${r.srcDev === dst ? '' : ' (different file systems)'}, and copying is not allowed (zerocopy)`,
          );
      }
    } finally {
      if (typeof source === 'string') await closeAsync(fd);
    }
  }

  private async repositoryDevice(): Promise<bigint> {
    this.device ??= (await statx(this.dir)).dev;
    return this.device;
  }

  /**
   * Seals, verifies and links a complete temporary object. `expected` is
   * its ID when already known; `beforePublish` can veto at the last moment.
   * (Public for ObjectWriter, which streams content into a TempObject.)
   */
  async finish(
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

  /** The source's digest (and its CRC-64 checked, when given), from memory if the caller read it. */
  private async digestSource(fd: number, name: string, options: FromFileOptions): Promise<ObjectId> {
    // Small contents are hashed here at once; larger ones on the digest
    // worker threads (reading the file again is cheaper than the hashing).
    if (options.content && options.content.length < WORKER_THRESHOLD) {
      if (options.crc64 !== undefined) checkCrc(name, options.crc64, tarsplit.crc64Checksum(options.content));
      return toObjectId(digestBytes(options.content, { hashAlg: this.hashAlg }));
    }
    const wantCrc = options.crc64 !== undefined;
    const d = await digestFile(fd, { hashAlg: this.hashAlg, parallelThreshold: WORKER_THRESHOLD, crc64: wantCrc }, name);
    if (options.crc64 !== undefined) checkCrc(name, options.crc64, d.crc64 ?? 0n);
    return d.hex;
  }

  private async digestFd(fd: number, name: string): Promise<ObjectId> {
    return (await digestFile(fd, { hashAlg: this.hashAlg, parallelThreshold: WORKER_THRESHOLD }, name)).hex;
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

function checkCrc(name: string, want: bigint, got: bigint): void {
  if (want !== got) {
    throw new IntegrityError(name, `CRC64 mismatch (content has ${got.toString(16).padStart(16, '0')}, expected ${want.toString(16).padStart(16, '0')})`);
  }
}

async function crc64Fd(fd: number, name: string, size: number): Promise<bigint> {
  const crc = tarsplit.Crc64.create();
  try {
    for await (const chunk of readChunks(fd, name, 0, size)) crc.update(chunk);
    return crc.value();
  } finally {
    crc[Symbol.dispose]();
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
