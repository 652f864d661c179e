/**
 * Making what was written to a repository durable before anything names
 * it. With the addon, one syncfs(2) of the repository's file system covers
 * every object written since. Without it (the portable path) each object
 * is fsynced before its rename, and `sync` fsyncs the directories whose
 * entries changed since the last sync, so the renames are on disk too.
 */
import { close, fsync, open, constants } from 'node:fs';
import { promisify } from 'node:util';
import { isErrno, systemError } from '../../common/index.js';
import { syncfs } from '../../host-bindings/index.js';

const openAsync = promisify(open);
const fsyncAsync = promisify(fsync);
const closeAsync = promisify(close);

export class Durability {
  private readonly dirty = new Set<string>();

  constructor(
    /** The repository directory's descriptor, for syncfs; undefined on the portable path. */
    private readonly dirFd: number | undefined,
  ) {}

  /** Whether syncfs covers everything (the addon is there). */
  get native(): boolean {
    return this.dirFd !== undefined;
  }

  /** `dir`'s entries changed (a rename into it): fsync it at the next sync. */
  touched(dir: string): void {
    if (!this.native) this.dirty.add(dir);
  }

  async sync(): Promise<void> {
    if (this.dirFd !== undefined) {
      await syncfs(this.dirFd);
      return;
    }
    const dirs = [...this.dirty];
    this.dirty.clear();
    await Promise.all(dirs.map((dir) => fsyncDirectory(dir)));
  }
}

/** fsync(2) of a file by descriptor. */
export async function fsyncFile(fd: number, name: string): Promise<void> {
  try {
    await fsyncAsync(fd);
  } catch (err) {
    throw systemError(err, name, 'fsync');
  }
}

/**
 * fsync(2) of a directory, where the platform has it: some (Windows) cannot
 * open or sync a directory, and their renames are as durable as they get.
 */
export async function fsyncDirectory(dir: string): Promise<void> {
  let fd: number;
  try {
    fd = await openAsync(dir, constants.O_RDONLY);
  } catch (err) {
    if (isErrno(err, 'EISDIR', 'EPERM', 'EACCES')) return;
    throw systemError(err, dir, 'open');
  }
  try {
    await fsyncAsync(fd);
  } catch (err) {
    if (!isErrno(err, 'EINVAL', 'EPERM', 'EBADF')) throw systemError(err, dir, 'fsync');
  } finally {
    await closeAsync(fd);
  }
}
