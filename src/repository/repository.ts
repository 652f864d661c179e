/**
 * A composefs repository, on-disk compatible with composefs-rs: open or
 * create one, then reach its objects, streams and images. An open
 * repository holds a shared lock (see lock.ts) until closed.
 */
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, NotFoundError, UnsupportedError, hexLength, isErrno, systemError, type HashAlg } from '../../common/index.js';
import { hostAvailability } from '../../host-bindings/index.js';
import { Durability } from './durability.js';
import { ImageStore } from './images.js';
import { RepositoryLock } from './lock.js';
import { readMeta, writeMeta } from './meta-file.js';
import { META_FILE, algorithmFor, hashAlgOf, parseAlgorithm, parseMeta, type Algorithm } from './meta.js';
import { ObjectStore } from './objects.js';
import { securityOf, type Security } from './security.js';
import { StreamStore } from './streams.js';

export type { Security } from './security.js';

export interface InitOptions {
  /** Default fsverity-sha512-12. */
  readonly algorithm?: string;
  /** Do not require fs-verity (for file systems without it). */
  readonly insecure?: boolean;
}

export interface OpenOptions {
  /**
   * Refuse to open unless writing is possible: no read-only features, and
   * without the addon an insecure repository (written the portable way).
   */
  readonly write?: boolean;
}

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

  /**
   * Creates the repository (and its directory) with meta.json, enabling
   * fs-verity on meta.json unless `insecure`. Initialising an existing
   * repository with the same algorithm is a no-op.
   */
  static async init(path: string, options: InitOptions = {}): Promise<Repository> {
    const algorithm = parseAlgorithm(options.algorithm ?? 'fsverity-sha512-12');
    await mkdir(path, { recursive: true, mode: 0o700 }).catch((err: unknown) => {
      throw systemError(err, path, 'mkdir');
    });
    const existing = await readMeta(path);
    if (existing) {
      if (existing.algorithm !== algorithm) {
        throw new InputError(join(path, META_FILE), `repository already exists with algorithm ${existing.algorithm}, not ${algorithm}`);
      }
    } else {
      await writeMeta(path, algorithm, options.insecure === true);
    }
    return Repository.open(path, { write: true });
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
      if (bytes) {
        const { meta, readOnlyBecause } = parseMeta(bytes, metaPath);
        if (options.write && readOnlyBecause.length > 0) {
          throw new InputError(metaPath, `repository has features this cfskit may read but not write: ${readOnlyBecause.join(', ')}`);
        }
        algorithm = meta.algorithm;
        security = await securityOf(metaPath, options.write === true);
      } else {
        ({ algorithm, security } = await inferOldRepository(path, options.write === true));
      }
      if (options.write) {
        checkWritable(path, security);
        await mkdir(join(path, 'objects'), { recursive: true, mode: 0o755 });
      }
      return new Repository(path, algorithm, security, bytes !== undefined, lock);
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

