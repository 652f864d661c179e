/**
 * A new object being written: an O_TMPFILE in objects/ (invisible until
 * linked, so a crash leaves nothing behind), or, without the addon or on a
 * file system without O_TMPFILE, a `.tmp-*` file in objects/ that is
 * fsynced and renamed to its final name (the portable path; a crash may
 * leave a `.tmp-*` file, never a partial object under an object's name).
 * Either way an object appears under its name only when complete.
 */
import { randomBytes } from 'node:crypto';
import { close, constants, open, rename, unlink } from 'node:fs';
import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isErrno, systemError } from '../../common/index.js';
import { hostAvailability, linkTmpfile, openTmpfile, reopenReadOnly } from '../../host-bindings/index.js';
import { fsyncFile, type Durability } from './durability.js';
import { objectPathname, type ObjectId } from './object-id.js';

const openAsync = promisify(open);
const closeAsync = promisify(close);
const renameAsync = promisify(rename);
const unlinkAsync = promisify(unlink);

export type Published = 'linked' | 'exists';

/** The mode of every object, as composefs-rs makes them. */
export const OBJECT_MODE = 0o644;

/** objects/xx directories known to exist: an import links thousands of objects into 256 of them. */
const knownDirs = new Set<string>();

export async function ensureObjectDir(objectsDir: string, id: ObjectId): Promise<void> {
  const dir = join(objectsDir, id.slice(0, 2));
  if (knownDirs.has(dir)) return;
  await mkdir(dir, { recursive: true, mode: 0o755 });
  knownDirs.add(dir);
}

/**
 * Runs `place` into objects/xx/, creating the directory first; if garbage
 * collection removed a directory we believed in, once more after making it.
 */
export async function placeIntoObjects(objectsDir: string, id: ObjectId, place: () => Promise<void>): Promise<void> {
  await ensureObjectDir(objectsDir, id);
  try {
    await place();
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
    knownDirs.delete(join(objectsDir, id.slice(0, 2)));
    await ensureObjectDir(objectsDir, id);
    await place();
  }
}

/** Whether objects/xx/rest is there as a regular file (a content-addressed object is never replaced). */
async function present(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Puts the complete file at `tempPath` (fsynced, read-only mode) in place
 * as object `id` by rename, unless the object is there already. The
 * portable way to publish: no O_TMPFILE, no linkat.
 */
export async function renameIntoObjects(objectsDir: string, tempPath: string, id: ObjectId, durability: Durability): Promise<Published> {
  const final = join(objectsDir, objectPathname(id));
  if (await present(final)) {
    await unlinkAsync(tempPath).catch(() => undefined);
    return 'exists';
  }
  try {
    await placeIntoObjects(objectsDir, id, () => renameAsync(tempPath, final));
  } catch (err) {
    await unlinkAsync(tempPath).catch(() => undefined);
    throw systemError(err, final, 'rename');
  }
  durability.touched(join(objectsDir, id.slice(0, 2)));
  return 'linked';
}

export class TempObject {
  private constructor(
    private readonly objectsDir: string,
    private readonly durability: Durability,
    /** Writable descriptor until `sealed()`. */
    private writable: number | undefined,
    /** Path of a named temp file; undefined for an O_TMPFILE. */
    private readonly tempPath: string | undefined,
  ) {}

  static async create(objectsDir: string, durability: Durability): Promise<TempObject> {
    if (durability.native && hostAvailability().available) {
      try {
        return new TempObject(objectsDir, durability, await openTmpfile(objectsDir, OBJECT_MODE), undefined);
      } catch (err) {
        if (!isErrno(err, 'EOPNOTSUPP', 'EISDIR', 'EINVAL')) throw err;
      }
    }
    const tempPath = join(objectsDir, `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      const fd = await openAsync(tempPath, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, OBJECT_MODE);
      return new TempObject(objectsDir, durability, fd, tempPath);
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
   * (no writer may remain); a named temp file is fsynced first, since its
   * rename is what makes it an object. The caller owns and closes the result.
   */
  async sealed(): Promise<number> {
    const fd = this.fd;
    let readOnly: number;
    if (this.tempPath === undefined) {
      readOnly = await reopenReadOnly(fd);
    } else {
      await fsyncFile(fd, this.tempPath);
      readOnly = await openAsync(this.tempPath, constants.O_RDONLY);
    }
    this.writable = undefined;
    await closeAsync(fd);
    return readOnly;
  }

  /** Puts the content under its object name; `exists` if it was already there. */
  async publish(readOnly: number, id: ObjectId): Promise<Published> {
    const tempPath = this.tempPath;
    if (tempPath !== undefined) return renameIntoObjects(this.objectsDir, tempPath, id, this.durability);
    const final = join(this.objectsDir, objectPathname(id));
    try {
      await placeIntoObjects(this.objectsDir, id, () => linkTmpfile(readOnly, final));
      return 'linked';
    } catch (err) {
      if (isErrno(err, 'EEXIST')) return 'exists';
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
