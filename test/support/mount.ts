/** Loop-mounting images read-only; always unmounted and detached. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check, run } from './cli.js';

/** Runs `body` with `image` mounted (EROFS, loop, read-only). */
export async function withErofsMount<T>(image: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'cfskit-mnt-'));
  try {
    await check('mount', ['-t', 'erofs', '-o', 'loop,ro', image, dir]);
    try {
      return await body(dir);
    } finally {
      await run('umount', [dir]);
      // -o loop sets autoclear, but detach anything left behind anyway.
      const left = await run('losetup', ['-j', image]);
      for (const line of left.stdout.split('\n')) {
        const dev = line.split(':')[0];
        if (dev) await run('losetup', ['-d', dev]);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
