/**
 * Opening a layer's content files under `overlay/<id>/diff/` by the names
 * tar-split recorded, without letting a damaged or hostile store lead the
 * reader outside that directory: every directory on the way is checked
 * once (a symlink is followed only if it resolves inside diff/, which is
 * what containers-storage itself would have written), and the file itself
 * is opened with O_NOFOLLOW and must be a regular file.
 */
import { constants } from 'node:fs';
import { lstat, realpath } from 'node:fs/promises';
import { sep } from 'node:path';
import { CfskitError, IntegrityError, SystemError, systemError, errnoOf, closeFd, fstatFd, openAndReadSync, openFd } from '../../common/index.js';

export interface OpenedFile {
  /** A raw descriptor, open read-only; the caller closes it. */
  readonly fd: number;
  /** Absolute path bytes (names need not be UTF-8). */
  readonly path: Buffer;
  readonly size: number;
  /** The content, when asked for (small files). */
  readonly data: Buffer | undefined;
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;


/**
 * The error for a file the process may not read: in a rootless store the
 * files belong to the uids of the user namespace, readable from inside it.
 */
export function accessError(path: string, syscall: string): CfskitError {
  const hint = process.getuid?.() === 0 ? 'permission denied' : 'permission denied; files of a rootless store belong to other uids of your user namespace: run this under `podman unshare`';
  return new SystemError('EACCES', syscall, path, hint);
}

export class DiffFiles {
  readonly root: string;
  readonly #rootBytes: Buffer;
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

  /** Why `fd` is not a regular file of `size` bytes (for error messages). */
  async #mismatch(input: string, fd: number, shown: string, size: number): Promise<IntegrityError> {
    const st = await fstatFd(fd);
    if (!st.isFile()) return new IntegrityError(input, `${shown} is not a regular file`);
    return new IntegrityError(input, `${shown} is ${st.size} bytes, tar-split says ${size}`);
  }

  #openError(input: string, shown: string, err: unknown): CfskitError {
    const code = errnoOf(err);
    if (code === 'ENOENT') return new IntegrityError(input, `${shown} is missing from the layer`);
    if (code === 'ELOOP') return new IntegrityError(input, `${shown} is a symlink, not the file's content`);
    if (code === 'EACCES') return accessError(shown, 'open');
    return systemError(err, shown, 'open');
  }

  /**
   * Opens `relative` (a cleaned tar-split path, no `..`) as a regular file
   * of `size` bytes; with `read`, reads it whole, synchronously (see fd.ts).
   * Reading size + 1 bytes proves the size without an fstat. Errors name
   * `input` and the file.
   */
  async open(input: string, relative: Buffer, size: number, read = false): Promise<OpenedFile> {
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
        if (fd === undefined) throw this.#openError(input, shown, err);
        // Reading failed: a directory (EISDIR), a FIFO (EAGAIN), or I/O.
        if (errnoOf(err) === 'EISDIR' || errnoOf(err) === 'EAGAIN') throw new IntegrityError(input, `${shown} is not a regular file`);
        throw systemError(err, shown, 'read');
      }
      if (opened.bytes !== size) {
        const error = await this.#mismatch(input, opened.fd, shown, size);
        await closeFd(opened.fd);
        throw error;
      }
      return { fd: opened.fd, path, size, data: data.subarray(0, size) };
    }
    let fd: number;
    try {
      fd = await openFd(path, OPEN_FLAGS);
    } catch (err) {
      throw this.#openError(input, shown, err);
    }
    try {
      const st = await fstatFd(fd);
      if (!st.isFile()) throw new IntegrityError(input, `${shown} is not a regular file`);
      if (st.size !== size) throw new IntegrityError(input, `${shown} is ${st.size} bytes, tar-split says ${size}`);
      return { fd, path, size, data: undefined };
    } catch (err) {
      await closeFd(fd);
      throw systemError(err, shown, 'fstat');
    }
  }
}
