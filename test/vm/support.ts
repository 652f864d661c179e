/**
 * Helpers for the tests that run inside the VM (test/vm/*.vmtest.ts): a
 * scratch directory on the guest's ext4 with the verity feature, a seeded
 * random source, and tamper(), which corrupts a file's bytes on the disk
 * behind the kernel's back.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseFilefrag, physicalByte } from './filefrag.js';

function guestEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is unset: the VM tests run only inside the VM (node dist/test/vm/run.js)`);
  return value;
}

/** The mount point of the scratch file system (ext4, 4 KiB blocks, verity feature). */
export const scratchRoot = (): string => guestEnv('CFSKIT_VM_SCRATCH');

/** The scratch file system's block device, which tamper() writes to. */
export const scratchDevice = (): string => guestEnv('CFSKIT_VM_SCRATCH_DEV');

/** Runs `body` in a new directory on the scratch file system, removed afterwards. */
export async function withScratchDir<T>(name: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(scratchRoot(), `${name}-`));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The seed the host chose (printed there), so a failing random case can be rerun. */
export const testSeed = (): number => Number(process.env.CFSKIT_TEST_SEED ?? 1);

/** A seeded generator of numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const exec = promisify(execFile);

/**
 * Drops a file's (or block device's) pages from the page cache with
 * POSIX_FADV_DONTNEED, through GNU dd (`iflag=nocache count=0`; Node has no
 * fadvise). Not /proc/sys/vm/drop_caches: that skips pages still sitting in
 * another CPU's LRU batch (each holds an extra reference), so with two vCPUs
 * a just-read page sometimes stayed cached; fadvise drains those batches
 * first. For a regular file, fincore then confirms that no page is left.
 */
export async function evictFromCache(path: string): Promise<void> {
  const regular = (await stat(path)).isFile();
  for (let attempt = 1; attempt <= 5; attempt++) {
    await exec('dd', [`if=${path}`, 'iflag=nocache', 'count=0', 'status=none']);
    if (!regular) return;
    const { stdout } = await exec('fincore', ['--bytes', '--noheadings', '--raw', '--output', 'RES', path]);
    if (Number(stdout.trim()) === 0) return;
  }
  throw new Error(`${path}: its pages stay in the page cache`);
}

export interface Tampered {
  readonly device: string;
  /** Where on the device the flipped byte lies. */
  readonly physicalByte: number;
  readonly before: number;
  readonly after: number;
}

/**
 * Flips (xor 0xff) the byte at `offset` of `path` on the scratch disk
 * without going through the file: the file's data is synced, its block
 * found with FIEMAP (`filefrag -v`), the raw device written and synced, and
 * the file's cached pages dropped so the next read comes from the disk. The device byte
 * must equal the file's byte first, or the mapping is wrong and nothing is
 * written.
 */
export async function tamper(path: string, offset = 0): Promise<Tampered> {
  const device = scratchDevice();
  const [file, dev] = await Promise.all([stat(path), stat(device)]);
  if (file.dev !== dev.rdev) throw new Error(`${path} is not on ${device}`);
  if (offset < 0 || offset >= file.size) throw new Error(`${path}: offset ${offset} is outside its ${file.size} bytes`);

  const byte = Buffer.alloc(1);
  const fh = await open(path, 'r');
  try {
    await fh.sync();
    await fh.read(byte, 0, 1, offset);
  } finally {
    await fh.close();
  }
  const { stdout } = await exec('filefrag', ['-v', path]);
  const at = physicalByte(parseFilefrag(stdout), offset);

  // The device's own page cache may hold an older copy of this block (from
  // an earlier tamper, before the block was reused); writing through it
  // would put stale bytes back on the disk.
  await evictFromCache(device);
  const raw = Buffer.alloc(1);
  const dh = await open(device, 'r+');
  try {
    await dh.read(raw, 0, 1, at);
    if (raw[0] !== byte[0]) {
      throw new Error(`${path}: ${device} byte ${at} is ${raw[0]}, not the file's byte ${offset} (${byte[0]}); FIEMAP mapping is wrong`);
    }
    const flipped = Buffer.from([(raw[0] ?? 0) ^ 0xff]);
    await dh.write(flipped, 0, 1, at);
    await dh.sync();
    await evictFromCache(path);
    return { device, physicalByte: at, before: raw[0] ?? 0, after: flipped[0] ?? 0 };
  } finally {
    await dh.close();
  }
}
