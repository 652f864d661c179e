/**
 * Opening a layer's content files under `overlay/<id>/diff/` by the names
 * tar-split recorded, without letting a damaged or hostile store lead the
 * reader outside that directory. With the addon, diff/ is opened once
 * (O_NOFOLLOW) and every file beneath its descriptor with openat2's
 * RESOLVE_BENEATH: a symlinked directory is followed only while it stays
 * inside diff/ (what containers-storage itself would have written), and a
 * directory renamed or swapped for a symlink meanwhile cannot lead out,
 * since nothing is looked up by absolute path after that first open.
 * Without the addon every directory on the way is checked once (symlinks
 * resolved with realpath) and files are opened by path. Either way the
 * file itself is opened with O_NOFOLLOW, non-blocking, and must be a
 * regular file of the recorded size.
 */
import { closeSync, constants, openSync } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { sep } from 'node:path';
import { CfskitError, IntegrityError, systemError, errnoOf, closeFd, fstatFd, openAndReadSync, openFd } from '../../common/index.js';
import { hostAvailability } from '../../host-bindings/index.js';
import { OPEN_FLAGS, accessError, mismatchError, openAndReadBeneath, openBeneathChecked, openError } from './beneath-read.js';

export { accessError };

export interface OpenedFile {
  /** A raw descriptor, open read-only; the caller closes it. */
  readonly fd: number;
  /** Absolute path bytes (names need not be UTF-8). */
  readonly path: Buffer;
  readonly size: number;
  /** The content, when asked for (small files). */
  readonly data: Buffer | undefined;
}



/** An open file not read now: fstat says it is regular and of the size tar-split records. */
async function sizedFile(fd: number, input: string, shown: string, path: Buffer, size: number): Promise<OpenedFile> {
  const st = await fstatFd(fd);
  if (!st.isFile()) throw new IntegrityError(input, `${shown} is not a regular file`);
  if (st.size !== size) throw new IntegrityError(input, `${shown} is ${st.size} bytes, tar-split says ${size}`);
  return { fd, path, size, data: undefined };
}
export class DiffFiles {
  readonly root: string;
  readonly #rootBytes: Buffer;
  /** diff/'s descriptor for confined opens (the addon), once opened. */
  #rootFd: number | undefined;
  #realRoot: string | undefined;
  /** Relative directory paths (latin1, so any bytes) already checked. */
  readonly #checked = new Set<string>();
  /** Checks under way: files opened ahead share them rather than repeat them. */
  readonly #checking = new Map<string, Promise<void>>();

  /** `input` names the layer (and entry) in errors. */
  constructor(root: string) {
    this.root = root;
    this.#rootBytes = Buffer.from(root);
  }

  #absolute(relative: Buffer): Buffer {
    return Buffer.concat([this.#rootBytes, Buffer.from(sep), relative]);
  }

  #checkDirectory(input: string, relative: Buffer): Promise<void> | undefined {
    const key = relative.toString('latin1');
    if (this.#checked.has(key)) return undefined;
    let check = this.#checking.get(key);
    if (!check) {
      check = this.#verifyDirectory(input, relative).then(() => {
        this.#checked.add(key);
        this.#checking.delete(key);
      });
      this.#checking.set(key, check);
    }
    return check;
  }

  async #verifyDirectory(input: string, relative: Buffer): Promise<void> {
    const path = this.#absolute(relative);
    const shown = path.toString();
    let st;
    try {
      st = await lstat(path);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') throw new IntegrityError(input, `${shown} is missing from the layer`);
      if (errnoOf(err) === 'EACCES') throw accessError(shown, 'lstat');
      throw systemError(err, shown, 'lstat');
    }
    if (st.isSymbolicLink()) {
      this.#realRoot ??= await realpath(this.root);
      let target: string;
      try {
        target = await realpath(path);
      } catch (err) {
        throw new IntegrityError(input, `${shown} is a symlink that does not resolve (${errnoOf(err) ?? 'error'})`);
      }
      if (!target.startsWith(this.#realRoot + sep) || !(await lstat(target)).isDirectory()) {
        throw new IntegrityError(input, `${shown} is a symlink leading outside the layer or to a non-directory`);
      }
    } else if (!st.isDirectory()) {
      throw new IntegrityError(input, `${shown} is not a directory`);
    }
  }

  /** diff/ itself, opened once: it must be a real directory (O_NOFOLLOW). */
  #diffFd(input: string): number {
    if (this.#rootFd !== undefined) return this.#rootFd;
    try {
      this.#rootFd = openSync(this.root, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    } catch (err) {
      if (errnoOf(err) === 'ENOENT') throw new IntegrityError(input, `${this.root} is missing (the layer's files)`);
      if (errnoOf(err) === 'ELOOP' || errnoOf(err) === 'ENOTDIR') throw new IntegrityError(input, `${this.root} is not a directory`);
      if (errnoOf(err) === 'EACCES') throw accessError(this.root, 'open');
      throw systemError(err, this.root, 'open');
    }
    return this.#rootFd;
  }

  /** The addon's way: the file opened beneath diff/'s descriptor (see the module comment). */
  async #openBeneath(input: string, relative: Buffer, size: number, read: boolean): Promise<OpenedFile> {
    const path = this.#absolute(relative);
    const shown = path.toString();
    const diffFd = this.#diffFd(input);
    if (read) {
      const data = Buffer.allocUnsafe(size + 1);
      const fd = openAndReadBeneath(diffFd, input, relative, shown, size, data, 0);
      return { fd, path, size, data: data.subarray(0, size) };
    }
    const fd = openBeneathChecked(diffFd, input, relative, shown);
    try {
      return await sizedFile(fd, input, shown, path, size);
    } catch (err) {
      await closeFd(fd);
      throw err instanceof CfskitError ? err : systemError(err, shown, 'fstat');
    }
  }

  /**
   * diff/'s descriptor for opening files beneath it on other threads (see
   * beneath-read.ts), or undefined without the addon. Valid until close().
   */
  confinedRoot(input: string): number | undefined {
    return hostAvailability().available ? this.#diffFd(input) : undefined;
  }

  /** The absolute path of `relative` (names need not be UTF-8). */
  absolute(relative: Buffer): Buffer {
    return this.#absolute(relative);
  }

  /** Releases diff/'s descriptor. */
  close(): void {
    if (this.#rootFd !== undefined) closeSync(this.#rootFd);
    this.#rootFd = undefined;
  }

  /**
   * Opens `relative` (a cleaned tar-split path, no `..`) as a regular file
   * of `size` bytes; with `read`, reads it whole, synchronously (see fd.ts).
   * Reading size + 1 bytes proves the size without an fstat. Errors name
   * `input` and the file.
   */
  async open(input: string, relative: Buffer, size: number, read = false): Promise<OpenedFile> {
    if (hostAvailability().available) return this.#openBeneath(input, relative, size, read);
    for (let i = relative.indexOf(0x2f); i >= 0; i = relative.indexOf(0x2f, i + 1)) {
      const check = this.#checkDirectory(input, relative.subarray(0, i));
      if (check) await check;
    }
    const path = this.#absolute(relative);
    const shown = path.toString();
    if (read) {
      const data = Buffer.allocUnsafe(size + 1);
      let opened: { fd: number; bytes: number };
      try {
        opened = openAndReadSync(path, OPEN_FLAGS, data);
      } catch (err) {
        const fd = (err as { fd?: number }).fd;
        if (fd === undefined) throw openError(input, shown, err);
        // Reading failed: a directory (EISDIR), a FIFO (EAGAIN), or I/O.
        if (errnoOf(err) === 'EISDIR' || errnoOf(err) === 'EAGAIN') throw new IntegrityError(input, `${shown} is not a regular file`);
        throw systemError(err, shown, 'read');
      }
      if (opened.bytes !== size) {
        const error = mismatchError(input, opened.fd, shown, size);
        await closeFd(opened.fd);
        throw error;
      }
      return { fd: opened.fd, path, size, data: data.subarray(0, size) };
    }
    let fd: number;
    try {
      fd = await openFd(path, OPEN_FLAGS);
    } catch (err) {
      throw openError(input, shown, err);
    }
    try {
      return await sizedFile(fd, input, shown, path, size);
    } catch (err) {
      await closeFd(fd);
      throw systemError(err, shown, 'fstat');
    }
  }
}
