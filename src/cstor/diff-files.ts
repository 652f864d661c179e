/**
 * Opening a layer's content files under `overlay/<id>/diff/` by the names
 * tar-split recorded, without letting a damaged or hostile store lead the
 * reader outside that directory: every directory on the way is checked
 * once (a symlink is followed only if it resolves inside diff/, which is
 * what containers-storage itself would have written), and the file itself
 * is opened with O_NOFOLLOW and must be a regular file.
 */
import { constants } from 'node:fs';
import { lstat, open, realpath, type FileHandle } from 'node:fs/promises';
import { sep } from 'node:path';
import { CfskitError, IntegrityError, SystemError, systemError } from '../errors.js';

export interface OpenedFile {
  readonly handle: FileHandle;
  /** Absolute path bytes (names need not be UTF-8). */
  readonly path: Buffer;
  readonly size: number;
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

function errnoOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

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

  /** `input` names the layer (and entry) in errors. */
  constructor(root: string) {
    this.root = root;
    this.#rootBytes = Buffer.from(root);
  }

  #absolute(relative: Buffer): Buffer {
    return Buffer.concat([this.#rootBytes, Buffer.from(sep), relative]);
  }

  async #checkDirectory(input: string, relative: Buffer): Promise<void> {
    const key = relative.toString('latin1');
    if (this.#checked.has(key)) return;
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
    this.#checked.add(key);
  }

  /**
   * Opens `relative` (a cleaned tar-split path, no `..`) as a regular file
   * of `size` bytes. Errors name `input` and the file.
   */
  async open(input: string, relative: Buffer, size: number): Promise<OpenedFile> {
    for (let i = relative.indexOf(0x2f); i >= 0; i = relative.indexOf(0x2f, i + 1)) {
      await this.#checkDirectory(input, relative.subarray(0, i));
    }
    const path = this.#absolute(relative);
    const shown = path.toString();
    let handle: FileHandle;
    try {
      handle = await open(path, OPEN_FLAGS);
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ENOENT') throw new IntegrityError(input, `${shown} is missing from the layer`);
      if (code === 'ELOOP') throw new IntegrityError(input, `${shown} is a symlink, not the file's content`);
      if (code === 'EACCES') throw accessError(shown, 'open');
      throw systemError(err, shown, 'open');
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new IntegrityError(input, `${shown} is not a regular file`);
      if (st.size !== size) throw new IntegrityError(input, `${shown} is ${st.size} bytes, tar-split says ${size}`);
      return { handle, path, size };
    } catch (err) {
      await handle.close();
      throw systemError(err, shown, 'fstat');
    }
  }
}
