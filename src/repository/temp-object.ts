/**
 * A new object being written: an O_TMPFILE in objects/ (invisible until
 * linked, so a crash leaves nothing behind), or, where the file system or
 * platform has no O_TMPFILE, a `.tmp-*` file in objects/ that is linked to
 * its final name and then removed. Either way an object appears under its
 * name only when complete, and an existing object is never replaced.
 */
import { randomBytes } from 'node:crypto';
import { close, constants, link, open, unlink } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { hostAvailability, linkTmpfile, openTmpfile, reopenReadOnly } from '../../host-bindings/index.js';
import { systemError } from '../../common/index.js';
import { objectPathname, type ObjectId } from './object-id.js';

const openAsync = promisify(open);
const closeAsync = promisify(close);
const linkAsync = promisify(link);
const unlinkAsync = promisify(unlink);

const errnoOf = (err: unknown): string | undefined => {
  const e = err as { errno?: unknown; code?: unknown } | null;
  if (typeof e?.errno === 'string') return e.errno;
  return typeof e?.code === 'string' ? e.code : undefined;
};

export type Published = 'linked' | 'exists';

/** objects/xx directories known to exist: an import links thousands of objects into 256 of them. */
const knownDirs = new Set<string>();

export async function ensureObjectDir(objectsDir: string, id: ObjectId): Promise<void> {
  const dir = join(objectsDir, id.slice(0, 2));
  if (knownDirs.has(dir)) return;
  await mkdir(dir, { recursive: true, mode: 0o755 });
  knownDirs.add(dir);
}

/**
 * Runs `link` into objects/xx/, creating the directory first; if garbage
 * collection removed a directory we believed in, once more after making it.
 */
export async function linkIntoObjects(objectsDir: string, id: ObjectId, link: () => Promise<void>): Promise<void> {
  await ensureObjectDir(objectsDir, id);
  try {
    await link();
  } catch (err) {
    if (errnoOf(err) !== 'ENOENT') throw err;
    knownDirs.delete(join(objectsDir, id.slice(0, 2)));
    await ensureObjectDir(objectsDir, id);
    await link();
  }
}

export class TempObject {
  private constructor(
    private readonly objectsDir: string,
    /** Writable descriptor until `sealed()`. */
    private writable: number | undefined,
    /** Path of a named temp file; undefined for an O_TMPFILE. */
    private readonly tempPath: string | undefined,
  ) {}

  static async create(objectsDir: string): Promise<TempObject> {
    if (hostAvailability().available) {
      try {
        return new TempObject(objectsDir, await openTmpfile(objectsDir, 0o644), undefined);
      } catch (err) {
        const errno = errnoOf(err);
        if (errno !== 'EOPNOTSUPP' && errno !== 'EISDIR' && errno !== 'EINVAL') throw err;
      }
    }
    const tempPath = join(objectsDir, `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      const fd = await openAsync(tempPath, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o644);
      return new TempObject(objectsDir, fd, tempPath);
    } catch (err) {
      throw systemError(err, tempPath, 'open');
    }
  }

  /** The descriptor to write (or clone, or copy) the content into. */
  get fd(): number {
    if (this.writable === undefined) throw new Error('temporary object already sealed');
    return this.writable;
  }

  /**
   * Swaps the writable descriptor for a read-only one, as fs-verity needs
   * (no writer may remain). The caller owns and closes the result.
   */
  async sealed(): Promise<number> {
    const fd = this.fd;
    let readOnly: number;
    if (this.tempPath === undefined) {
      readOnly = await reopenReadOnly(fd);
    } else {
      readOnly = await openAsync(this.tempPath, constants.O_RDONLY);
    }
    this.writable = undefined;
    await closeAsync(fd);
    return readOnly;
  }

  /** Links the content under its object name; `exists` if it was already there. */
  async publish(readOnly: number, id: ObjectId): Promise<Published> {
    const final = join(this.objectsDir, objectPathname(id));
    const tempPath = this.tempPath;
    try {
      await linkIntoObjects(this.objectsDir, id, () => (tempPath === undefined ? linkTmpfile(readOnly, final) : linkAsync(tempPath, final)));
      return 'linked';
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') return 'exists';
      throw systemError(err, final, 'link');
    } finally {
      await this.discard();
    }
  }

  /** Drops the temporary content (an O_TMPFILE vanishes with its last descriptor). */
  async discard(): Promise<void> {
    if (this.writable !== undefined) {
      const fd = this.writable;
      this.writable = undefined;
      await closeAsync(fd).catch(() => undefined);
    }
    if (this.tempPath !== undefined) await unlinkAsync(this.tempPath).catch(() => undefined);
  }
}
