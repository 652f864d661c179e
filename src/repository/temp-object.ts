/**
 * A new object being written: an O_TMPFILE in objects/ (invisible until
 * linked, so a crash leaves nothing behind), or, without the addon or on a
 * file system without O_TMPFILE, a `.tmp-*` file in objects/ that is
 * fsynced and renamed to its final name (the portable path; a crash may
 * leave a `.tmp-*` file, never a partial object under an object's name).
 * Either way an object appears under its name only when complete.
 */
import { randomBytes } from 'node:crypto';
import { close, constants, open, unlink } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CfskitError, NotFoundError, isErrno, systemError } from '../../common/index.js';
import { hostAvailability, linkTmpfile, openTmpfile, reopenReadOnly } from '../../host-bindings/index.js';
import type { RepoDir } from './repo-dir.js';
import { fsyncFile, type Durability } from './durability.js';
import { objectPathname, type ObjectId } from './object-id.js';

const openAsync = promisify(open);
const closeAsync = promisify(close);
const unlinkAsync = promisify(unlink);

export type Published = 'linked' | 'exists';

/** The mode of every object, as composefs-rs makes them. */
export const OBJECT_MODE = 0o644;

/** objects/xx directories known to exist: an import links thousands of objects into 256 of them. */
const knownDirs = new Set<string>();

export async function ensureObjectDir(dir: RepoDir, id: ObjectId): Promise<void> {
  const key = join(dir.path, 'objects', id.slice(0, 2));
  if (knownDirs.has(key)) return;
  await dir.mkdirs(`objects/${id.slice(0, 2)}`);
  knownDirs.add(key);
}

/**
 * Runs `place` into objects/xx/, creating the directory first; if garbage
 * collection removed a directory we believed in, once more after making it.
 */
export async function placeIntoObjects(dir: RepoDir, id: ObjectId, place: () => Promise<void>): Promise<void> {
  await ensureObjectDir(dir, id);
  try {
    await place();
  } catch (err) {
    // ENOENT from the kernel; NotFoundError from the portable path's check of the directories on the way.
    if (!isErrno(err, 'ENOENT') && !(err instanceof NotFoundError)) throw err;
    knownDirs.delete(join(dir.path, 'objects', id.slice(0, 2)));
    await ensureObjectDir(dir, id);
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
 * Puts the complete file `objects/<tempName>` (fsynced, read-only mode) in
 * place as object `id` by rename, unless the object is there already. The
 * portable way to publish: no O_TMPFILE, no linkat.
 */
export async function renameIntoObjects(dir: RepoDir, tempName: string, id: ObjectId, durability: Durability): Promise<Published> {
  const temp = `objects/${tempName}`;
  const rel = `objects/${objectPathname(id)}`;
  if (await present(dir.full(rel))) {
    await dir.unlink(temp).catch(() => undefined);
    return 'exists';
  }
  try {
    await placeIntoObjects(dir, id, () => dir.rename(temp, rel));
  } catch (err) {
    await dir.unlink(temp).catch(() => undefined);
    throw err instanceof CfskitError ? err : systemError(err, dir.full(rel), 'rename');
  }
  durability.touched(dir.full(`objects/${id.slice(0, 2)}`));
  return 'linked';
}

export class TempObject {
  private constructor(
    private readonly dir: RepoDir,
    private readonly durability: Durability,
    /** Writable descriptor until `sealed()`. */
    private writable: number | undefined,
    /** A named temp file in objects/: its name and a path to open it by; undefined for an O_TMPFILE. */
    private readonly temp: { readonly name: string; readonly path: string } | undefined,
  ) {}

  /**
   * A new temporary object in objects/ (`tmpPath`: the confined path of
   * objects/, RepoDir.objectsPath).
   */
  static async create(dir: RepoDir, tmpPath: string, durability: Durability): Promise<TempObject> {
    if (durability.native && hostAvailability().available) {
      try {
        const fd = dir.confined ? await dir.openTmpfileInObjects(OBJECT_MODE) : await openTmpfile(dir.full('objects'), OBJECT_MODE);
        return new TempObject(dir, durability, fd, undefined);
      } catch (err) {
        if (!isErrno(err, 'EOPNOTSUPP', 'EISDIR', 'EINVAL')) throw err;
      }
    }
    const name = `.tmp-${randomBytes(8).toString('hex')}`;
    const path = join(tmpPath, name);
    try {
      // O_EXCL: a name already there (a symlink planted, say) is never opened.
      const fd = await openAsync(path, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, OBJECT_MODE);
      return new TempObject(dir, durability, fd, { name, path });
    } catch (err) {
      throw systemError(err, dir.full(`objects/${name}`), 'open');
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
    if (this.temp === undefined) {
      readOnly = await reopenReadOnly(fd);
    } else {
      await fsyncFile(fd, this.temp.path);
      readOnly = await openAsync(this.temp.path, constants.O_RDONLY | constants.O_NOFOLLOW);
    }
    this.writable = undefined;
    await closeAsync(fd);
    return readOnly;
  }

  /** Puts the content under its object name; `exists` if it was already there. */
  async publish(readOnly: number, id: ObjectId): Promise<Published> {
    const temp = this.temp;
    if (temp !== undefined) return renameIntoObjects(this.dir, temp.name, id, this.durability);
    const rel = `objects/${objectPathname(id)}`;
    const final = this.dir.full(rel);
    try {
      await placeIntoObjects(this.dir, id, () => (this.dir.confined ? this.dir.linkFd(readOnly, rel) : linkTmpfile(readOnly, final)));
      return 'linked';
    } catch (err) {
      if (isErrno(err, 'EEXIST')) return 'exists';
      throw err instanceof CfskitError ? err : systemError(err, final, 'link');
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
    if (this.temp !== undefined) await unlinkAsync(this.temp.path).catch(() => undefined);
  }
}
