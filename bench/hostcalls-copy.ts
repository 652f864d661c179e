/**
 * How long importing one 256 MiB file takes by each of the import paths:
 * FICLONE, copy_file_range within a file system, and the buffered copy
 * across file systems. Loop file systems in /tmp; needs root.
 *   node dist/bench/hostcalls-copy.js [MiB]
 */
import { randomFillSync } from 'node:crypto';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copyFileRange, ficlone } from '../host-bindings/index.js';
import { withLoopFs, withTwoLoopFs } from '../test/support/loopfs.js';

const mib = Number(process.argv[2] ?? 256);
const size = mib * 2 ** 20;
const sizeMiB = Math.max(1024, mib * 3);

async function source(dir: string): Promise<string> {
  const path = join(dir, 'src');
  await writeFile(path, randomFillSync(Buffer.alloc(size)));
  return path;
}

async function timed(label: string, srcPath: string, dstPath: string, move: (src: number, dst: number) => Promise<unknown>): Promise<void> {
  const src = await open(srcPath, 'r');
  const dst = await open(dstPath, 'w');
  try {
    await src.sync();
    const started = process.hrtime.bigint();
    await move(src.fd, dst.fd);
    await dst.sync();
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    console.log(`${label.padEnd(48)} ${ms.toFixed(1).padStart(9)} ms  ${(mib / (ms / 1000)).toFixed(0).padStart(7)} MiB/s`);
  } finally {
    await src.close();
    await dst.close();
  }
}

console.log(`${mib} MiB of random data, time including fsync of the destination:`);
for (const kind of ['btrfs', 'xfs'] as const) {
  await withLoopFs(kind, { sizeMiB }, async (mnt) => {
    const src = await source(mnt);
    await timed(`${kind}: ficlone`, src, join(mnt, 'clone'), ficlone);
    await timed(`${kind}: copyFileRange, same file system`, src, join(mnt, 'copy'), (s, d) => copyFileRange(s, d, size));
  });
}
await withLoopFs('ext4', { sizeMiB }, async (mnt) => {
  const src = await source(mnt);
  await timed('ext4: copyFileRange (in-kernel copy)', src, join(mnt, 'copy'), (s, d) => copyFileRange(s, d, size));
});
await withTwoLoopFs(['btrfs', 'xfs'], { sizeMiB }, async (first, second) => {
  const src = await source(first);
  await timed('btrfs → xfs: copyFileRange (buffered fallback)', src, join(second, 'copy'), (s, d) => copyFileRange(s, d, size));
});
