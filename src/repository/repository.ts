/**
 * A composefs repository, on-disk compatible with composefs-rs: open or
 * create one, then reach its objects, streams and images. An open
 * repository holds a shared lock (see lock.ts) until closed.
 */
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, NotFoundError, UnsupportedError, hexLength, isErrno, systemError, type ErofsVersion, type HashAlg } from '../../common/index.js';
import { hostAvailability } from '../../host-bindings/index.js';
import { Durability } from './durability.js';
import { ImageStore } from './images.js';
import { RepositoryLock } from './lock.js';
import { differentConfiguration, readMeta, writeMeta } from './meta-file.js';
import {
  META_FILE,
  algorithmFor,
  effectiveFormats,
  formatVersions,
  hashAlgOf,
  newMeta,
  parseAlgorithm,
  parseMeta,
  sameMeta,
  singleFormat,
  type Algorithm,
  type ErofsFormats,
} from './meta.js';
import { ObjectStore } from './objects.js';
import { securityOf, type Security } from './security.js';
import { StreamStore } from './streams.js';

export type { Security } from './security.js';

export interface InitOptions {
  /** Default fsverity-sha512-12. */
  readonly algorithm?: string;
  /** Do not require fs-verity (for file systems without it). */
  readonly insecure?: boolean;
  /** The EROFS format of the repository's images (default 1, as cfsctl 0.9). */
  readonly erofsVersion?: ErofsVersion;
}

export interface OpenOptions {
  /**
   * Refuse to open unless writing is possible: no read-only features, and
   * without the addon an insecure repository (written the portable way).
   */
  readonly write?: boolean;
  /**
   * Make images in this EROFS format only, whatever meta.json says (cfsctl's
   * global `--erofs-version`; meta.json is not changed).
   */
  readonly erofsVersion?: ErofsVersion;
}

/** What `Repository.ensure` did (composefs-rs `EnsureStatus`). */
export type EnsureStatus = 'created' | 'opened' | 'upgraded';

export class Repository {
  private readonly durability: Durability;
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
    this.durability = new Durability(lock.dirFd);
    // Only the kernel can check a secure repository's objects; without the
    // addon they are checked by digest like any other.
    this.objects = new ObjectStore(path, hashAlg, security === 'secure' && this.durability.native, this.durability);
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
    const { algorithm, security } = await inferOldRepository(path, true);
    checkWritable(path, security);
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
      if (isErrno(err, 'ENOENT')) throw new NotFoundError(path, 'no repository here (create one with: cfskit --repo DIR init)');
      throw systemError(err, path, 'stat');
    }
    const lock = await RepositoryLock.acquire(path);
    try {
      const metaPath = join(path, META_FILE);
      const bytes = await readFile(metaPath).catch((err: unknown) => {
        if (isErrno(err, 'ENOENT')) return undefined;
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
        security = await securityOf(metaPath, options.write === true);
      } else {
        ({ algorithm, security } = await inferOldRepository(path, options.write === true));
      }
      if (options.erofsVersion !== undefined) formats = singleFormat(options.erofsVersion);
      if (options.write) {
        checkWritable(path, security);
        await mkdir(join(path, 'objects'), { recursive: true, mode: 0o755 });
      }
      return new Repository(path, algorithm, security, bytes !== undefined, formats, lock);
    } catch (err) {
      await lock.release();
      throw err;
    }
  }

  /** Makes everything written to the repository so far durable (syncfs, or the portable fsyncs). */
  async sync(): Promise<void> {
    await this.durability.sync();
  }

  /** The lock, for garbage collection to take exclusively. */
  get repositoryLock(): RepositoryLock {
    return this.lock;
  }

  async close(): Promise<void> {
    await this.lock.release();
  }
}

/**
 * Whether this process may write the repository: with the addon, when it is
 * known whether fs-verity is required; without it, only an insecure one.
 */
function checkWritable(path: string, security: Security): void {
  const host = hostAvailability();
  if (host.available) {
    if (security === 'unknown') throw new UnsupportedError(`${path}: cannot tell whether the repository requires fs-verity`, { input: path });
    return;
  }
  if (security !== 'insecure') {
    const why = security === 'secure' ? 'requires fs-verity on every object' : 'may require fs-verity (its meta.json cannot be opened for writing to tell)';
    throw new UnsupportedError(
      `${path}: the repository ${why}, which needs cfskit's native host bindings (${host.reason}); ` +
        'without them only insecure repositories can be written',
      { input: path },
    );
  }
}

/**
 * Repositories from before meta.json: the algorithm follows from the
 * length of object names, the security mode from whether an object has
 * fs-verity.
 */
async function inferOldRepository(path: string, probe: boolean): Promise<{ algorithm: Algorithm; security: Security }> {
  const objects = join(path, 'objects');
  let dirs: string[];
  try {
    dirs = await readdir(objects);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new NotFoundError(path, 'not a composefs repository (no meta.json and no objects/)');
    throw systemError(err, objects, 'readdir');
  }
  for (const dir of dirs.filter((d) => /^[0-9a-f]{2}$/.test(d)).sort()) {
    for (const name of await readdir(join(objects, dir)).catch(() => [] as string[])) {
      const hashAlg: HashAlg | undefined =
        name.length === hexLength('sha256') - 2 ? 'sha256' : name.length === hexLength('sha512') - 2 ? 'sha512' : undefined;
      if (hashAlg && /^[0-9a-f]+$/.test(name)) {
        return { algorithm: algorithmFor(hashAlg), security: await securityOf(join(objects, dir, name), probe) };
      }
    }
  }
  throw new InputError(path, 'has no meta.json and no objects to infer its algorithm from (run cfskit init)');
}

