/**
 * Repository locking compatible with composefs-rs: every user holds a
 * shared flock on the repository directory while it has it open; garbage
 * collection converts that to an exclusive lock, so it runs only when no
 * one else (cfskit or cfsctl) is importing or reading.
 */
import { close, constants, open } from 'node:fs';
import { promisify } from 'node:util';
import { flock, hostAvailability } from '../../host-bindings/index.js';
import { LockBusyError, RepositoryBusyError, UnsupportedError, systemError } from '../../common/index.js';

const openAsync = promisify(open);
const closeAsync = promisify(close);

export class RepositoryLock {
  private constructor(
    private readonly path: string,
    private fd: number | undefined,
  ) {}

  /**
   * Opens the directory and takes the shared lock. Without the native
   * addon (not Linux) there is no lock; that is only acceptable for
   * reading, which callers decide.
   */
  static async acquire(path: string): Promise<RepositoryLock> {
    if (!hostAvailability().available) return new RepositoryLock(path, undefined);
    let fd: number;
    try {
      fd = await openAsync(path, constants.O_RDONLY | constants.O_DIRECTORY);
    } catch (err) {
      throw systemError(err, path, 'open');
    }
    try {
      await flock(fd, 'shared', { wait: true });
    } catch (err) {
      await closeAsync(fd);
      throw systemError(err, path, 'flock');
    }
    return new RepositoryLock(path, fd);
  }

  get held(): boolean {
    return this.fd !== undefined;
  }

  /** The directory descriptor (for syncfs), while the lock is held. */
  get dirFd(): number | undefined {
    return this.fd;
  }

  /**
   * Upgrades to exclusive; fails with RepositoryBusyError unless `wait`.
   * Without the addon there is no lock to upgrade, and nothing that needs
   * one may run unguarded: an UnsupportedError says so.
   */
  async exclusive(wait: boolean): Promise<void> {
    if (this.fd === undefined) {
      throw new UnsupportedError(`${this.path}: taking the repository's exclusive lock (flock) needs cfskit's native host bindings`, { input: this.path });
    }
    try {
      await flock(this.fd, 'exclusive', { wait });
    } catch (err) {
      // A refused conversion has dropped the shared lock (flock(2) is not
      // atomic there): take it back before reporting.
      await flock(this.fd, 'shared', { wait: true });
      if (err instanceof LockBusyError) throw new RepositoryBusyError(this.path);
      throw systemError(err, this.path, 'flock');
    }
  }

  /** Back to shared after an exclusive section. */
  async shared(): Promise<void> {
    if (this.fd !== undefined) await flock(this.fd, 'shared', { wait: true });
  }

  async release(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) await closeAsync(fd);
  }
}
