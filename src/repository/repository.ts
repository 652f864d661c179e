/**
 * A composefs repository, on-disk compatible with composefs-rs: open or
 * create one, then reach its objects, streams and images. An open
 * repository holds a shared lock (see lock.ts) until closed.
 */
import { close, write } from 'node:fs';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
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
} from '../../host-bindings/index.js';
import { CfskitError, InputError, NotFoundError, UnsupportedError, VerityNotEnabledError, VerityUnsupportedError, systemError, type HashAlg } from '../../common/index.js';
import { ImageStore } from './images.js';
import { RepositoryLock } from './lock.js';
import { META_FILE, hashAlgOf, newMeta, parseAlgorithm, parseMeta, serializeMeta, type Algorithm } from './meta.js';
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
}

export interface OpenOptions {
  /** Refuse to open unless writing is possible (addon present, no read-only features). */
  readonly write?: boolean;
}

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
      if (bytes) {
        const { meta, readOnlyBecause } = parseMeta(bytes, metaPath);
        if (options.write && readOnlyBecause.length > 0) {
          throw new InputError(metaPath, `repository has features this cfskit may read but not write: ${readOnlyBecause.join(', ')}`);
        }
        algorithm = meta.algorithm;
        security = await verityOf(metaPath);
      } else {
        ({ algorithm, security } = await inferOldRepository(path));
      }
      if (options.write) {
        if (security === 'unknown') throw new UnsupportedError(`${path}: cannot tell whether the repository requires fs-verity`);
        await mkdir(join(path, 'objects'), { recursive: true, mode: 0o755 });
      }
      return new Repository(path, algorithm, security, bytes !== undefined, lock);
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

async function readMeta(path: string): Promise<{ algorithm: Algorithm } | undefined> {
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
 * enabled, then linked, so it appears complete or not at all.
 */
async function writeMeta(path: string, algorithm: Algorithm, insecure: boolean): Promise<void> {
  const data = serializeMeta(newMeta(algorithm));
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
    } catch (err) {
      // Someone else initialised it meanwhile: fine if it agrees.
      if ((err as { errno?: string }).errno !== 'EEXIST') throw err;
      const other = await readMeta(path);
      if (other?.algorithm !== algorithm) throw new InputError(metaPath, `was created concurrently with algorithm ${other?.algorithm}`);
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

