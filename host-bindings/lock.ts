/**
 * Advisory whole-file locks (flock(2)), the kind containers-storage and
 * composefs repositories take. A lock belongs to the open file description:
 * two opens of one file in this process conflict like two processes do.
 */
import { LockBusyError, SystemError } from '../common/index.js';
import { describe, hostCall } from './call.js';

export type FlockMode = 'shared' | 'exclusive' | 'unlock';

declare module './native.js' {
  interface NativeHost {
    flock(fd: number, mode: FlockMode, wait: boolean): Promise<void>;
  }
}

/**
 * Takes, converts or drops the lock on `fd`. Without `wait` (the default)
 * a conflicting lock rejects with LockBusyError at once. With `wait` the
 * call blocks one libuv pool thread until granted and keeps the process
 * alive meanwhile; prefer polling where a wait may be long.
 *
 * Converting is not atomic (the kernel drops the old lock first): a
 * shared lock whose upgrade to exclusive is refused is gone, not kept.
 */
export async function flock(fd: number, mode: FlockMode, options: { wait?: boolean } = {}): Promise<void> {
  const input = describe(fd);
  try {
    await hostCall(`locking a file (flock ${mode})`, input, (host) => host.flock(fd, mode, options.wait ?? false));
  } catch (err) {
    // EWOULDBLOCK is EAGAIN on Linux; the addon names it EAGAIN.
    if (err instanceof SystemError && err.errno === 'EAGAIN') throw new LockBusyError(input, mode);
    throw err;
  }
}
