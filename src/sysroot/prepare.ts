/**
 * The system store's place in a sysroot, made ready for a pull as bootc
 * keeps it (podstorage.rs): the store under `composefs/bootc/`, and the
 * compatibility link `ostree/bootc -> ../composefs/bootc` through which
 * the booted root's `/usr/lib/bootc/storage` reaches it. An `ostree/bootc`
 * that is already there (a link, or an ostree system's own directory) is
 * left as it is.
 */
import { lstat, mkdir, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { NotFoundError, systemError } from '../../common/index.js';
import { BOOTC_DIR, COMPAT_LINK_TARGET, SysrootLayout } from './layout.js';

export async function prepareSystemStore(layout: SysrootLayout): Promise<void> {
  try {
    if (!(await lstat(layout.root)).isDirectory()) throw new NotFoundError(layout.root, 'is not a directory (the sysroot)');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(layout.root, 'no such sysroot directory');
    throw systemError(err, layout.root, 'stat');
  }
  const bootcDir = join(layout.root, BOOTC_DIR);
  await mkdir(bootcDir, { recursive: true, mode: 0o700 }).catch((err: unknown) => {
    throw systemError(err, bootcDir, 'mkdir');
  });
  try {
    await lstat(layout.compatLink);
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw systemError(err, layout.compatLink, 'lstat');
  }
  await mkdir(dirname(layout.compatLink), { recursive: true }).catch((err: unknown) => {
    throw systemError(err, dirname(layout.compatLink), 'mkdir');
  });
  await symlink(COMPAT_LINK_TARGET, layout.compatLink).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw systemError(err, layout.compatLink, 'symlink');
  });
}
