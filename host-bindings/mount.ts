/**
 * Mounting through the kernel's own interfaces: loop devices configured in
 * one ioctl (LOOP_CONFIGURE) and the new mount API (fsopen, fsconfig,
 * fsmount, move_mount), so every step returns a descriptor that undoes
 * itself when closed, and a refused option comes back with the kernel's
 * explanation (the file system context's log) in the error message.
 * All of it needs CAP_SYS_ADMIN.
 */
import { describe, hostCall } from './call.js';
import type { PathArg } from './native.js';

declare module './native.js' {
  interface NativeHost {
    loopAttach(backingFd: number, readOnly: boolean, autoclear: boolean): Promise<LoopDevice>;
    fsOpen(fsType: string): Promise<number>;
    fsConfigString(fsFd: number, key: string, value: string): Promise<void>;
    fsConfigFlag(fsFd: number, key: string): Promise<void>;
    fsConfigCreate(fsFd: number): Promise<void>;
    fsMount(fsFd: number, readOnly: boolean): Promise<number>;
    moveMount(mountFd: number, path: PathArg): Promise<void>;
    unmount(path: PathArg, detach: boolean): Promise<void>;
  }
}

export interface LoopDevice {
  /** An open descriptor of the device: with autoclear, closing the last one detaches it. */
  readonly fd: number;
  readonly index: number;
  /** /dev/loopN */
  readonly device: string;
}

/**
 * Binds a free loop device to the file open at `backingFd`, flags included
 * in the same call. With `autoclear` (the default) the device detaches
 * itself when the last descriptor of it closes: the returned one, then any
 * file system mounted from it. `readOnly` defaults to true.
 */
export function loopAttach(backingFd: number, options: { readOnly?: boolean; autoclear?: boolean; name?: string } = {}): Promise<LoopDevice> {
  return hostCall('attaching a loop device', options.name ?? describe(backingFd), (host) =>
    host.loopAttach(backingFd, options.readOnly ?? true, options.autoclear ?? true),
  );
}

/** A new file system context for `fsType` ('erofs', 'overlay', ...). 'ENODEV' when the kernel has no such file system. */
export function fsOpen(fsType: string): Promise<number> {
  return hostCall('creating a file system context (fsopen)', fsType, (host) => host.fsOpen(fsType));
}

/** Sets option `key` to `value` ('EINVAL' with the kernel's reason for an unknown key or bad value). */
export function fsConfigString(fsFd: number, key: string, value: string, name?: string): Promise<void> {
  return hostCall('configuring a file system (fsconfig)', name ?? `${key}=${value}`, (host) => host.fsConfigString(fsFd, key, value));
}

/** Sets the valueless option `key` ('ro', ...). */
export function fsConfigFlag(fsFd: number, key: string, name?: string): Promise<void> {
  return hostCall('configuring a file system (fsconfig)', name ?? key, (host) => host.fsConfigFlag(fsFd, key));
}

/** Creates the superblock from the options set so far. */
export function fsConfigCreate(fsFd: number, name?: string): Promise<void> {
  return hostCall('creating a file system (fsconfig)', name ?? describe(fsFd), (host) => host.fsConfigCreate(fsFd));
}

/** A detached mount of the created file system: gone when closed, unless moveMount attaches it. */
export function fsMount(fsFd: number, options: { readOnly?: boolean; name?: string } = {}): Promise<number> {
  return hostCall('mounting a file system (fsmount)', options.name ?? describe(fsFd), (host) => host.fsMount(fsFd, options.readOnly ?? false));
}

/** Attaches the detached mount `mountFd` at `path`. */
export function moveMount(mountFd: number, path: PathArg): Promise<void> {
  return hostCall('attaching a mount (move_mount)', describe(path), (host) => host.moveMount(mountFd, path));
}

/**
 * Unmounts what is mounted at `path` (a final symlink is not followed).
 * 'EBUSY' while something uses it, unless `detach` (MNT_DETACH: gone from
 * the tree now, released when its last user lets go).
 */
export function unmount(path: PathArg, options: { detach?: boolean } = {}): Promise<void> {
  return hostCall('unmounting (umount2)', describe(path), (host) => host.unmount(path, options.detach ?? false));
}
