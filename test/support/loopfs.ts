/**
 * Real file systems for tests, loop-mounted from sparse images:
 *
 *   const it = gated(test, ...loopFsPrereqs('btrfs'));
 *   it('clones', () => withLoopFs('btrfs', {}, async (mnt) => { ... }));
 *   await withTwoLoopFs(['btrfs', 'xfs'], {}, async (a, b) => { ... });
 *
 * Each call makes an image in its own temp dir, runs mkfs on it (xfs with
 * reflink), attaches it with `losetup --find --show`, mounts it, runs the
 * body, then unmounts (retrying, lazily as a last resort), detaches and
 * removes the image however the body ends. If the process exits or is
 * killed by SIGINT/SIGTERM/SIGHUP first, an exit hook does the same. Only a
 * SIGKILL can leave a loop device behind (`losetup -a` lists it).
 *
 * A body that leaves a descriptor open on the file system makes the unmount
 * fail with EBUSY; it is then lazily unmounted and the call fails (when the
 * body itself succeeded), since that is a leak in the test.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from './cli.js';
import { haveRoot, haveTool } from './prereq.js';

export type LoopFsKind = 'btrfs' | 'xfs' | 'ext4';

export interface LoopFsOptions {
  /** Image size (sparse, so only written data takes space). */
  readonly sizeMiB?: number;
  /** Extra arguments for mkfs, before the image path. */
  readonly mkfsArgs?: readonly string[];
}

interface Mkfs {
  readonly tool: string;
  /** Quiet, overwrite, and no discard: a new sparse image has nothing to discard. */
  readonly args: readonly string[];
  readonly minMiB: number;
  readonly defaultMiB: number;
}

const MKFS: Record<LoopFsKind, Mkfs> = {
  btrfs: { tool: 'mkfs.btrfs', args: ['-q', '-f', '-K'], minMiB: 114, defaultMiB: 256 },
  xfs: { tool: 'mkfs.xfs', args: ['-q', '-f', '-K', '-m', 'reflink=1'], minMiB: 300, defaultMiB: 320 },
  ext4: { tool: 'mkfs.ext4', args: ['-q', '-F', '-E', 'nodiscard'], minMiB: 2, defaultMiB: 128 },
};

/** Why `kinds` cannot be loop-mounted here, for `gated(test, ...)`. */
export function loopFsPrereqs(...kinds: LoopFsKind[]): (string | undefined)[] {
  const loopControl = existsSync('/dev/loop-control') ? undefined : 'no /dev/loop-control (loop devices unavailable)';
  return [haveRoot(), loopControl, haveTool('losetup'), haveTool('mount'), ...kinds.map((k) => haveTool(MKFS[k].tool, ['-V']))];
}

/** What has to be undone for one file system; `dir` holds image and mountpoint. */
interface Attachment {
  readonly dir: string;
  readonly image: string;
  readonly mountpoint: string;
}

const attached = new Set<Attachment>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export async function withLoopFs<T>(kind: LoopFsKind, options: LoopFsOptions, body: (mountpoint: string) => Promise<T>): Promise<T> {
  const mkfs = MKFS[kind];
  const sizeMiB = options.sizeMiB ?? mkfs.defaultMiB;
  if (sizeMiB < mkfs.minMiB) throw new Error(`withLoopFs: ${kind} needs at least ${mkfs.minMiB} MiB (got ${sizeMiB})`);
  const dir = await mkdtemp(join(tmpdir(), `cfskit-loopfs-${kind}-`));
  const at: Attachment = { dir, image: join(dir, 'image'), mountpoint: join(dir, 'mnt') };
  // Registered before anything is attached, so an exit at any point below
  // finds the image's loop device even if losetup's answer never arrived.
  register(at);
  let result: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    await mkdir(at.mountpoint);
    const image = await open(at.image, 'w');
    await image.truncate(sizeMiB * 2 ** 20).finally(() => image.close());
    await must(mkfs.tool, [...mkfs.args, ...(options.mkfsArgs ?? []), at.image]);
    const device = (await must('losetup', ['--find', '--show', at.image])).trim();
    await must('mount', ['-t', kind, device, at.mountpoint]);
    result = { ok: true, value: await body(at.mountpoint) };
  } catch (error) {
    result = { ok: false, error };
  }
  const problems = await detach(at);
  if (!result.ok) {
    if (problems.length > 0) console.error(`withLoopFs cleanup after a failure: ${problems.join('; ')}`);
    throw result.error;
  }
  if (problems.length > 0) throw new Error(`withLoopFs(${kind}) cleanup: ${problems.join('; ')}`);
  return result.value;
}

/** Two separate file systems (e.g. for EXDEV and cross-device copies). */
export function withTwoLoopFs<T>(
  kinds: readonly [LoopFsKind, LoopFsKind],
  options: LoopFsOptions,
  body: (first: string, second: string) => Promise<T>,
): Promise<T> {
  return withLoopFs(kinds[0], options, (first) => withLoopFs(kinds[1], options, (second) => body(first, second)));
}

/** Mountpoints and images this process still has attached (none after the calls return). */
export function loopFsAttached(): { mountpoint: string; image: string }[] {
  return [...attached].map(({ mountpoint, image }) => ({ mountpoint, image }));
}

async function must(cmd: string, args: readonly string[]): Promise<string> {
  const r = await run(cmd, args);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

export function isMounted(mountpoint: string): boolean {
  // /proc/self/mounts escapes spaces and such as octal; our paths have none.
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === mountpoint);
}

/** Loop devices backed by `image`, found in sysfs (which still lists an image deleted since). */
export function loopDevicesOf(image: string): string[] {
  const devices: string[] = [];
  for (const name of readdirSync('/sys/block').filter((n) => n.startsWith('loop'))) {
    let backing: string;
    try {
      backing = readFileSync(`/sys/block/${name}/loop/backing_file`, 'utf8').trim();
    } catch {
      continue; // not attached
    }
    if (backing === image || backing === `${image} (deleted)`) devices.push(`/dev/${name}`);
  }
  return devices;
}

/**
 * What is left of the file system that was mounted at `mountpoint`, for
 * tests to assert cleanup: [] once withLoopFs has returned or thrown.
 */
export function loopFsLeftovers(mountpoint: string): string[] {
  const dir = dirname(mountpoint);
  const image = join(dir, 'image');
  const left = isMounted(mountpoint) ? [`${mountpoint} is mounted`] : [];
  for (const device of loopDevicesOf(image)) left.push(`${device} is attached to ${image}`);
  if (existsSync(dir)) left.push(`${dir} exists`);
  return left;
}

/** Undoes `at`; returns what went wrong, having done all it could. */
async function detach(at: Attachment): Promise<string[]> {
  const problems: string[] = [];
  // A fresh mount may be briefly busy (udev probing the new device).
  for (let attempt = 0; attempt < 5 && isMounted(at.mountpoint); attempt++) {
    const r = await run('umount', [at.mountpoint]);
    if (r.status !== 0) await sleep(200 * (attempt + 1));
  }
  if (isMounted(at.mountpoint)) {
    const r = await run('umount', ['--lazy', at.mountpoint]);
    problems.push(`${at.mountpoint} stayed busy (a descriptor left open?)${r.status === 0 ? '; lazily unmounted' : `: ${r.stderr.trim()}`}`);
  }
  for (const device of loopDevicesOf(at.image)) {
    const r = await run('losetup', ['-d', device]);
    if (r.status !== 0) problems.push(`losetup -d ${device}: ${r.stderr.trim()}`);
  }
  // A device still open (udev probing it, or a lazily unmounted file
  // system with open files) is only marked for detaching on last close.
  for (let attempt = 0; attempt < 10 && loopDevicesOf(at.image).length > 0; attempt++) await sleep(200);
  const lingering = loopDevicesOf(at.image);
  if (lingering.length > 0) problems.push(`${lingering.join(', ')} still attached to ${at.image}`);
  // Never delete through a live mount: only remove the dir once detached.
  if (isMounted(at.mountpoint)) {
    problems.push(`${at.mountpoint} is still mounted; left ${at.dir} in place`);
  } else {
    await rm(at.dir, { recursive: true, force: true });
  }
  unregister(at);
  return problems;
}

/** The same, synchronously, for a process on its way out. */
function detachNow(at: Attachment): void {
  if (isMounted(at.mountpoint)) spawnSync('umount', ['--lazy', at.mountpoint]);
  for (const device of loopDevicesOf(at.image)) spawnSync('losetup', ['-d', device]);
  if (!isMounted(at.mountpoint)) rmSync(at.dir, { recursive: true, force: true });
  attached.delete(at);
}

function detachAllNow(): void {
  for (const at of [...attached]) detachNow(at);
}

function onSignal(signal: NodeJS.Signals): void {
  detachAllNow();
  removeHooks();
  // Die of the signal as if no handler had been installed, unless someone
  // else handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

// Hooks are installed only while something is attached: a SIGINT listener
// otherwise changes what Ctrl-C does to the test process.
function register(at: Attachment): void {
  if (attached.size === 0) {
    process.on('exit', detachAllNow);
    for (const s of SIGNALS) process.on(s, onSignal);
  }
  attached.add(at);
}

function unregister(at: Attachment): void {
  attached.delete(at);
  if (attached.size === 0) removeHooks();
}

function removeHooks(): void {
  process.off('exit', detachAllNow);
  for (const s of SIGNALS) process.off(s, onSignal);
}
