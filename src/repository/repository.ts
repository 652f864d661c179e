/**
 * A composefs repository, on-disk compatible with composefs-rs: open or
 * create one, then reach its objects, streams and images. An open
 * repository holds a shared lock (see lock.ts) until closed.
 */
import { close, write } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  enableVerity,
  fsyncFd,
  hostAvailability,
  linkTmpfile,
  measureVerity,
  openTmpfile,
  reopenReadOnly,
  syncfs,
  VerityNotEnabledError,
  VerityUnsupportedError,
} from '../../host-bindings/index.js';
import { CfskitError, InputError, NotFoundError, UnsupportedError, systemError } from '../errors.js';
import type { HashAlg } from '../fsverity/params.js';
import { ImageStore } from './images.js';
import { RepositoryLock } from './lock.js';
import type { ErofsVersion } from '../image/format.js';
import {
  META_FILE,
  effectiveFormats,
  formatVersions,
  hashAlgOf,
  newMeta,
  parseAlgorithm,
  parseMeta,
  sameMeta,
  serializeMeta,
  singleFormat,
  type Algorithm,
  type ErofsFormats,
  type RepoMeta,
} from './meta.js';
import { HEX_LENGTH } from './object-id.js';
import { ObjectStore } from './objects.js';
import { StreamStore } from './streams.js';

const closeAsync = promisify(close);
const writeAsync = promisify(write);

export interface InitOptions {
  /** Default fsverity-sha512-12. */
  readonly algorithm?: string;
  /** Do not require fs-verity (for file systems without it). */
  readonly insecure?: boolean;
  /** The EROFS format of the repository's images (default 1, as cfsctl 0.9). */
  readonly erofsVersion?: ErofsVersion;
}

export interface OpenOptions {
  /** Refuse to open unless writing is possible (addon present, no read-only features). */
  readonly write?: boolean;
  /**
   * Make images in this EROFS format only, whatever meta.json says (cfsctl's
   * global `--erofs-version`; meta.json is not changed).
   */
  readonly erofsVersion?: ErofsVersion;
}

/** What `Repository.ensure` did (composefs-rs `EnsureStatus`). */
export type EnsureStatus = 'created' | 'opened' | 'upgraded';

/** Whether the repository requires fs-verity: known, or unknowable here (no addon). */
export type Security = 'secure' | 'insecure' | 'unknown';

export class Repository {
  readonly objects: ObjectStore;
  readonly streams: StreamStore;
  readonly images: ImageStore;

  private constructor(
    readonly path: string,
    readonly algorithm: Algorithm,
    readonly security: Security,
    /** False for old repositories without meta.json. */
    readonly hasMeta: boolean,
    /**
     * The EROFS formats images are made in: meta.json's (V2 without it), or
     * the one format an `erofsVersion` open option asked for.
     */
    readonly erofsFormats: ErofsFormats,
    private readonly lock: RepositoryLock,
  ) {
    const hashAlg = hashAlgOf(algorithm);
    const sync = (): Promise<void> => this.sync();
    this.objects = new ObjectStore(path, hashAlg, security === 'secure');
    this.streams = new StreamStore(path, this.objects, hashAlg, this.objects.dir, sync);
    this.images = new ImageStore(path, this.objects, hashAlg, sync);
  }

  get hashAlg(): HashAlg {
    return hashAlgOf(this.algorithm);
  }

  /** The EROFS format of the images this repository makes (and names). */
  get erofsVersion(): ErofsVersion {
    return this.erofsFormats.default;
  }

  /** Every format an image is made in: the default first. */
  get erofsVersions(): ErofsVersion[] {
    return formatVersions(this.erofsFormats);
  }

  /**
   * Creates the repository (and its directory) with meta.json, enabling
   * fs-verity on meta.json unless `insecure`. Initialising an existing
   * repository with the same configuration is a no-op; with another, an
   * error (as cfsctl's `init`).
   */
  static async init(path: string, options: InitOptions = {}): Promise<Repository> {
    return (await Repository.create(path, options)).repository;
  }

  /** `init`, saying whether the repository was created or already there. */
  static async create(path: string, options: InitOptions = {}): Promise<{ repository: Repository; created: boolean }> {
    const algorithm = parseAlgorithm(options.algorithm ?? 'fsverity-sha512-12');
    const meta = newMeta(algorithm, singleFormat(options.erofsVersion ?? 1));
    await mkdir(path, { recursive: true, mode: 0o700 }).catch((err: unknown) => {
      throw systemError(err, path, 'mkdir');
    });
    const existing = await readMeta(path);
    let created = false;
    if (existing) {
      if (!sameMeta(existing, meta)) throw differentConfiguration(path, existing, meta);
    } else {
      created = await writeMeta(path, meta, options.insecure === true);
    }
    return { repository: await Repository.open(path, { write: true }), created };
  }

  /**
   * cfsctl's `init --ensure`: opens a repository that exists as it is,
   * creates one where there is none, and gives a repository from before
   * meta.json its meta.json (V2, the format it was made with: composefs-rs
   * 0.9 writes V1 there, which relabels its V2 images).
   */
  static async ensure(path: string, options: InitOptions = {}): Promise<{ repository: Repository; status: EnsureStatus }> {
    await mkdir(path, { recursive: true, mode: 0o700 }).catch((err: unknown) => {
      throw systemError(err, path, 'mkdir');
    });
    if (await readMeta(path)) return { repository: await Repository.open(path, { write: true }), status: 'opened' };
    const objects = await stat(join(path, 'objects')).then(
      () => true,
      () => false,
    );
    if (!objects) return { repository: (await Repository.create(path, options)).repository, status: 'created' };
    const { algorithm, security } = await inferOldRepository(path);
    if (security === 'unknown') throw new UnsupportedError(`${path}: cannot tell whether the repository requires fs-verity`);
    await writeMeta(path, newMeta(algorithm, singleFormat(2)), security === 'insecure');
    return { repository: await Repository.open(path, { write: true }), status: 'upgraded' };
  }

  /**
   * cfsctl's `init --reset-metadata`: removes streams/, images/ and
   * meta.json (what depends on the algorithm), keeping objects/.
   */
  static async resetMetadata(path: string): Promise<void> {
    for (const name of ['streams', 'images', META_FILE]) {
      await rm(join(path, name), { recursive: true, force: true }).catch((err: unknown) => {
        throw systemError(err, join(path, name), 'remove');
      });
    }
  }

  static async open(path: string, options: OpenOptions = {}): Promise<Repository> {
    try {
      if (!(await stat(path)).isDirectory()) throw new InputError(path, 'is not a directory');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new NotFoundError(path, 'no repository here (create one with: cfskit --repo DIR init)');
      }
      throw systemError(err, path, 'stat');
    }
    if (options.write && !hostAvailability().available) {
      throw new UnsupportedError(`${path}: writing a repository needs the Linux host bindings; this system can only read it`);
    }
    const lock = await RepositoryLock.acquire(path);
    try {
      const metaPath = join(path, META_FILE);
      const bytes = await readFile(metaPath).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw systemError(err, metaPath, 'read');
      });
      let algorithm: Algorithm;
      let security: Security;
      let formats = singleFormat(2);
      if (bytes) {
        const { meta, readOnlyBecause } = parseMeta(bytes, metaPath);
        if (options.write && readOnlyBecause.length > 0) {
          throw new InputError(metaPath, `repository has features this cfskit may read but not write: ${readOnlyBecause.join(', ')}`);
        }
        algorithm = meta.algorithm;
        formats = effectiveFormats(meta);
        security = await verityOf(metaPath);
      } else {
        ({ algorithm, security } = await inferOldRepository(path));
      }
      if (options.erofsVersion !== undefined) formats = singleFormat(options.erofsVersion);
      if (options.write) {
        if (security === 'unknown') throw new UnsupportedError(`${path}: cannot tell whether the repository requires fs-verity`);
        await mkdir(join(path, 'objects'), { recursive: true, mode: 0o755 });
      }
      return new Repository(path, algorithm, security, bytes !== undefined, formats, lock);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /** Flushes everything written to the repository's file system to disk. */
  async sync(): Promise<void> {
    const fd = this.lock.dirFd;
    if (fd === undefined) throw new UnsupportedError(`${this.path}: syncing needs the Linux host bindings`);
    await syncfs(fd);
  }

  /** The lock, for garbage collection to take exclusively. */
  get repositoryLock(): RepositoryLock {
    return this.lock;
  }

  async close(): Promise<void> {
    await this.lock.release();
  }
}

/** cfsctl's words for `init` on a repository configured otherwise. */
function differentConfiguration(path: string, existing: RepoMeta, wanted: RepoMeta): InputError {
  const describe = (m: RepoMeta): string => `algorithm: ${m.algorithm}, erofs_version: V${effectiveFormats(m).default}`;
  return new InputError(
    join(path, META_FILE),
    `repository already initialized with different configuration (${describe(existing)}); cannot re-initialize with (${describe(wanted)})`,
  );
}

async function readMeta(path: string): Promise<RepoMeta | undefined> {
  const metaPath = join(path, META_FILE);
  try {
    return parseMeta(await readFile(metaPath), metaPath).meta;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err instanceof CfskitError ? err : systemError(err, metaPath, 'read');
  }
}

/** meta.json with verity means every object must have it. */
async function verityOf(file: string): Promise<Security> {
  if (!hostAvailability().available) return 'unknown';
  try {
    await measureVerity(file);
    return 'secure';
  } catch (err) {
    if (err instanceof VerityNotEnabledError || err instanceof VerityUnsupportedError) return 'insecure';
    throw err;
  }
}

/**
 * Writes meta.json as composefs-rs does: an O_TMPFILE, synced, verity
 * enabled, then linked, so it appears complete or not at all. False when
 * another process created the same meta.json meanwhile.
 */
async function writeMeta(path: string, meta: RepoMeta, insecure: boolean): Promise<boolean> {
  const { algorithm } = meta;
  const data = serializeMeta(meta);
  const metaPath = join(path, META_FILE);
  const fd = await openTmpfile(path, 0o644);
  let readOnly: number | undefined;
  try {
    for (let done = 0; done < data.length; ) done += (await writeAsync(fd, data, done, data.length - done)).bytesWritten;
    await fsyncFd(fd);
    readOnly = await reopenReadOnly(fd);
  } finally {
    await closeAsync(fd);
  }
  try {
    if (!insecure) {
      try {
        await enableVerity(readOnly, { hashAlg: hashAlgOf(algorithm), blockSize: 4096 }, metaPath);
      } catch (err) {
        if (err instanceof VerityUnsupportedError) {
          throw new UnsupportedError(`${path}: this file system or kernel has no fs-verity; use --insecure to create a repository without it`, {
            cause: err,
          });
        }
        throw err;
      }
    }
    try {
      await linkTmpfile(readOnly, metaPath);
      return true;
    } catch (err) {
      // Someone else initialised it meanwhile: fine if it agrees.
      if ((err as { errno?: string }).errno !== 'EEXIST') throw err;
      const other = await readMeta(path);
      if (!other || !sameMeta(other, meta)) throw differentConfiguration(path, other ?? meta, meta);
      return false;
    }
  } finally {
    await closeAsync(readOnly);
  }
}

/**
 * Repositories from before meta.json: the algorithm follows from the
 * length of object names, the security mode from whether an object has
 * fs-verity.
 */
async function inferOldRepository(path: string): Promise<{ algorithm: Algorithm; security: Security }> {
  const objects = join(path, 'objects');
  let dirs: string[];
  try {
    dirs = await readdir(objects);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new NotFoundError(path, 'not a composefs repository (no meta.json and no objects/)');
    }
    throw systemError(err, objects, 'readdir');
  }
  for (const dir of dirs.filter((d) => /^[0-9a-f]{2}$/.test(d)).sort()) {
    for (const name of await readdir(join(objects, dir)).catch(() => [] as string[])) {
      const hashAlg: HashAlg | undefined =
        name.length === HEX_LENGTH.sha256 - 2 ? 'sha256' : name.length === HEX_LENGTH.sha512 - 2 ? 'sha512' : undefined;
      if (hashAlg && /^[0-9a-f]+$/.test(name)) {
        const algorithm: Algorithm = hashAlg === 'sha256' ? 'fsverity-sha256-12' : 'fsverity-sha512-12';
        return { algorithm, security: await verityOf(join(objects, dir, name)) };
      }
    }
  }
  throw new InputError(path, 'has no meta.json and no objects to infer its algorithm from (run cfskit init)');
}

