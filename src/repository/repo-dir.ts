/**
 * The repository directory, as everything inside it is reached: every
 * create, link, rename, unlink, readlink and open of a path below it
 * resolves that path beneath the directory's descriptor without following
 * a symlink (the addon's openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, see
 * host-bindings/beneath.ts), so `streams/refs` or `objects/` replaced by a
 * symlink — before a call or while it runs — makes the call fail instead
 * of writing outside the repository. Without the addon (the portable path)
 * each call first checks every directory on the way with lstat, which
 * refuses a symlink already there but cannot close the window between the
 * check and the call; no other file API has the *at calls.
 */
import { closeSync, constants, lstatSync, openSync, type Stats } from 'node:fs';
import { lstat, mkdir, open, readlink, rename, symlink, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, NotFoundError, errnoOf, isErrno, systemError } from '../../common/index.js';
import {
  linkFdBeneath,
  mkdirsBeneath,
  openBeneath,
  openBeneathSync,
  readlinkBeneath,
  renameBeneath,
  symlinkBeneath,
  unlinkBeneath,
} from '../../host-bindings/index.js';

const O_PATH = 0o10000000;
/** O_TMPFILE (with O_DIRECTORY), which node:fs does not name. */
const O_TMPFILE = 0o20200000;

/** How `open` and `openSync` open a file: read-only, the final component never a symlink, a FIFO never waited on. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** The error for a directory on the way to a repository path, from its lstat (or the lstat's failure). */
function parentError(path: string, st: Stats | undefined, err: unknown): Error | undefined {
  if (st === undefined) return isErrno(err, 'ENOENT') ? new NotFoundError(path, 'no such directory') : systemError(err, path, 'lstat');
  if (st.isSymbolicLink()) return new InputError(path, 'is a symlink where the repository needs a directory; refusing to follow it');
  if (!st.isDirectory()) return new InputError(path, 'is not a directory');
  return undefined;
}

export class RepoDir {
  #objectsFd: Promise<number> | undefined;
  /** objects/'s descriptor once opened: what the synchronous calls use. */
  #objectsFdNow: number | undefined;
  /** Whether close() closes objects/ (not when it was given: another RepoDir owns it). */
  readonly #ownsObjectsFd: boolean;

  constructor(
    /** The repository's path, as errors name it. */
    readonly path: string,
    /** Its directory descriptor when the addon is there (the lock's). */
    readonly fd: number | undefined,
    /**
     * objects/'s descriptor when already opened elsewhere in this process
     * (a worker thread's view of the main thread's RepoDir: descriptors are
     * process-wide). Such a RepoDir never closes it.
     */
    objectsFd?: number,
  ) {
    this.#ownsObjectsFd = objectsFd === undefined;
    if (objectsFd !== undefined) {
      this.#objectsFd = Promise.resolve(objectsFd);
      this.#objectsFdNow = objectsFd;
    }
  }

  /** objects/'s descriptor if `objectsFd()` has resolved (to hand to a worker thread). */
  get openedObjectsFd(): number | undefined {
    return this.#objectsFdNow;
  }

  /** Whether operations are confined by the kernel (the addon), not by checks before them. */
  get confined(): boolean {
    return this.fd !== undefined;
  }

  full(rel: string): string {
    return join(this.path, rel);
  }

  /**
   * The descriptor and relative path a confined call uses: paths inside
   * objects/ go through objects/'s own descriptor (held from the first
   * use), so every object of a repository lands in the one directory it
   * opened, whatever happens to the path objects/ meanwhile.
   */
  async #at(rel: string): Promise<{ fd: number; rel: string }> {
    const fd = this.fd as number;
    if (rel.startsWith('objects/')) return { fd: await this.objectsFd(), rel: rel.slice('objects/'.length) };
    if (rel === 'objects') return { fd: await this.objectsFd(), rel: '' };
    return { fd, rel };
  }

  /** The error for `err` about `rel`: a symlink on the way is named as such. */
  #error(err: unknown, rel: string, syscall: string): Error {
    const full = this.full(rel);
    const code = errnoOf(err);
    if (code === 'ELOOP' || code === 'EXDEV') {
      return new InputError(full, `a directory on the way is a symlink where the repository needs a directory (or leads out of it); refusing to follow it`);
    }
    return systemError(err, full, syscall);
  }

  /** Portable path: every directory from the root down to `rel`'s parent must be a real directory. */
  async checkParents(rel: string): Promise<void> {
    let path = this.path;
    for (const part of rel.split('/').slice(0, -1)) {
      path = join(path, part);
      const problem = await lstat(path).then(
        (st) => parentError(path, st, undefined),
        (err: unknown) => parentError(path, undefined, err),
      );
      if (problem) throw problem;
    }
  }

  /** checkParents on this thread (for the many small opens of a check). */
  checkParentsSync(rel: string): void {
    let path = this.path;
    for (const part of rel.split('/').slice(0, -1)) {
      path = join(path, part);
      let problem: Error | undefined;
      try {
        problem = parentError(path, lstatSync(path), undefined);
      } catch (err) {
        problem = parentError(path, undefined, err);
      }
      if (problem) throw problem;
    }
  }

  /** Makes `rel` and the directories above it; an existing one must be a real directory. */
  async mkdirs(rel: string, mode = 0o755): Promise<void> {
    try {
      if (this.fd !== undefined) {
        if (rel === 'objects') return await mkdirsBeneath(this.fd, rel, mode);
        const at = await this.#at(rel);
        return await mkdirsBeneath(at.fd, at.rel, mode);
      }
      await this.checkParents(`${rel}/x`).catch(async (err: unknown) => {
        if (!(err instanceof NotFoundError)) throw err;
      });
      await mkdir(this.full(rel), { recursive: true, mode });
      await this.checkParents(`${rel}/x`);
    } catch (err) {
      throw err instanceof InputError || err instanceof NotFoundError ? err : this.#error(err, rel, 'mkdir');
    }
  }

  /** A new symlink `rel` → `target`; EEXIST (a SystemError) when the name is taken. */
  async symlink(target: string, rel: string): Promise<void> {
    try {
      if (this.fd !== undefined) {
        const at = await this.#at(rel);
        return await symlinkBeneath(target, at.fd, at.rel);
      }
      await this.checkParents(rel);
      await symlink(target, this.full(rel));
    } catch (err) {
      throw isErrno(err, 'EEXIST') || err instanceof InputError || err instanceof NotFoundError ? err : this.#error(err, rel, 'symlink');
    }
  }

  /** Renames `from` to `to` (replacing `to`), both in the repository. */
  async rename(from: string, to: string): Promise<void> {
    try {
      if (this.fd !== undefined) {
        // Both in objects/ (a temporary object published) or both outside it.
        const [a, b] = [await this.#at(from), await this.#at(to)];
        if (a.fd !== b.fd) throw new InputError(this.full(to), 'renames between objects/ and the rest of the repository are not made');
        return await renameBeneath(a.fd, a.rel, b.rel);
      }
      await this.checkParents(from);
      await this.checkParents(to);
      await rename(this.full(from), this.full(to));
    } catch (err) {
      throw err instanceof InputError || err instanceof NotFoundError ? err : this.#error(err, to, 'rename');
    }
  }

  async unlink(rel: string): Promise<void> {
    try {
      if (this.fd !== undefined) {
        const at = await this.#at(rel);
        return await unlinkBeneath(at.fd, at.rel);
      }
      await this.checkParents(rel);
      await unlink(this.full(rel));
    } catch (err) {
      throw isErrno(err, 'ENOENT') || err instanceof InputError || err instanceof NotFoundError ? err : this.#error(err, rel, 'unlink');
    }
  }

  /** A symlink's target; ENOENT and EINVAL (not a symlink) come through as such. */
  async readlink(rel: string): Promise<string> {
    try {
      if (this.fd !== undefined) {
        const at = await this.#at(rel);
        return (await readlinkBeneath(at.fd, at.rel)).toString('utf8');
      }
      await this.checkParents(rel);
      return await readlink(this.full(rel));
    } catch (err) {
      throw isErrno(err, 'ENOENT', 'EINVAL') || err instanceof InputError || err instanceof NotFoundError ? err : this.#error(err, rel, 'readlink');
    }
  }

  /** Names the file behind `fd` `rel` (never replacing: EEXIST). Addon only. */
  async linkFd(fd: number, rel: string): Promise<void> {
    if (this.fd === undefined) throw new Error('linkFd needs the addon');
    try {
      const at = await this.#at(rel);
      await linkFdBeneath(fd, at.fd, at.rel);
    } catch (err) {
      throw isErrno(err, 'EEXIST', 'ENOENT') ? err : this.#error(err, rel, 'link');
    }
  }

  /**
   * Opens `rel` read-only (non-blocking, the final component never a
   * symlink). With the addon the confined descriptor is turned into a
   * FileHandle through /proc/self/fd, which reopens that very file.
   */
  async open(rel: string): Promise<FileHandle> {
    const flags = OPEN_FLAGS;
    if (this.fd === undefined) {
      await this.checkParents(rel);
      return open(this.full(rel), flags);
    }
    const at = await this.#at(rel);
    const fd = await openBeneath(at.fd, at.rel, flags).catch((err: unknown) => {
      throw isErrno(err, 'ENOENT', 'ENXIO') ? err : this.#error(err, rel, 'open');
    });
    try {
      return await open(`/proc/self/fd/${fd}`, constants.O_RDONLY | constants.O_NONBLOCK);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * `open` on this thread, as a descriptor the caller closes: microseconds
   * for a cached file, where `open` takes thread-pool round trips (the
   * thousands of objects of a check). Inside objects/ only after
   * `objectsFd()` has resolved (or in a RepoDir given it).
   */
  openSync(rel: string): number {
    if (this.fd === undefined) {
      this.checkParentsSync(rel);
      return openSync(this.full(rel), OPEN_FLAGS);
    }
    if (rel.startsWith('objects/')) return this.openInObjectsSync(rel.slice('objects/'.length));
    return this.#openBeneathSync(this.fd, rel, rel);
  }

  /**
   * openSync of `objects/<name>`, without building that path unless an
   * error names it (thousands of objects are opened so).
   */
  openInObjectsSync(name: string): number {
    if (this.fd === undefined) return this.openSync(`objects/${name}`);
    if (this.#objectsFdNow === undefined) throw new Error('objects/ is not open yet: await objectsFd() before a synchronous call');
    return this.#openBeneathSync(this.#objectsFdNow, name, undefined);
  }

  /** `rel` (repository-relative, for errors) opened beneath `fd` as `at`; undefined `rel`: `objects/<at>`. */
  #openBeneathSync(fd: number, at: string, rel: string | undefined): number {
    try {
      return openBeneathSync(fd, at, OPEN_FLAGS);
    } catch (err) {
      throw isErrno(err, 'ENOENT', 'ENXIO') ? err : this.#error(err, rel ?? `objects/${at}`, 'open');
    }
  }

  /**
   * A path through which files directly in objects/ are created (temporary
   * objects, splitstreams being written): with the addon
   * `/proc/self/fd/<fd of objects/ opened beneath the repository>`, which
   * names that very directory however its path changes.
   */
  async objectsPath(): Promise<string> {
    if (this.fd === undefined) return this.full('objects');
    return `/proc/self/fd/${await this.objectsFd()}`;
  }

  /** objects/ opened beneath the repository (O_PATH), kept for the repository's lifetime. */
  objectsFd(): Promise<number> {
    const fd = this.fd;
    if (fd === undefined) return Promise.reject(new Error('objectsFd needs the addon'));
    this.#objectsFd ??= openBeneath(fd, 'objects', O_PATH | constants.O_DIRECTORY).then(
      (opened) => (this.#objectsFdNow = opened),
      (err: unknown) => {
        this.#objectsFd = undefined;
        throw this.#error(err, 'objects', 'open');
      },
    );
    return this.#objectsFd;
  }

  /** A new nameless file (O_TMPFILE) in objects/, read-write, `mode`. Addon only. */
  async openTmpfileInObjects(mode: number): Promise<number> {
    try {
      return await openBeneath(await this.objectsFd(), '', O_TMPFILE | constants.O_RDWR, { mode });
    } catch (err) {
      throw isErrno(err, 'EOPNOTSUPP', 'EISDIR', 'EINVAL') ? err : this.#error(err, 'objects', 'open');
    }
  }

  /** Closes what this holds (not the repository's own descriptor). */
  async close(): Promise<void> {
    const pending = this.#objectsFd;
    this.#objectsFd = undefined;
    this.#objectsFdNow = undefined;
    const fd = await pending?.catch(() => undefined);
    if (fd !== undefined && this.#ownsObjectsFd) closeSync(fd);
  }
}
