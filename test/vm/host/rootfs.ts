/**
 * The guest's disks:
 *  - the system image (vda, mounted read-only as /): busybox, /usr/bin/node
 *    and the tools the tests call, each with exactly the shared libraries
 *    ldd names, and the project's built code under /cfskit. Planned first
 *    (which host file goes where), then built only when that plan changed
 *    (a file added, or one's size or mtime), and cached under .cache/vm/;
 *  - the scratch image (vdb): an empty ext4 with the verity feature, made
 *    fresh in the run's temp directory.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, link, lstat, mkdir, mkdtemp, readdir, readlink, realpath, rename, rm, stat, symlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { check } from '../../support/cli.js';
import { findExecutable, sharedLibraries } from './ldd.js';
import { projectDependencies, runtimePackages } from './npm.js';
import { GUEST_DIR, ROOT } from './paths.js';

/**
 * Host tools the guest tests run, installed at their host paths (before
 * busybox's /bin in the guest's PATH): fsverity-utils as the oracle, for
 * tamper(): filefrag (FIEMAP), GNU dd (fadvise) and fincore, and getfattr,
 * which scanning a tree for an image reads xattrs with.
 */
export const GUEST_TOOLS = ['fsverity', 'filefrag', 'dd', 'fincore', 'getfattr'] as const;

/** Where the project sits in the guest. */
export const GUEST_PROJECT = '/cfskit';

const MiB = 1 << 20;

interface PlannedFile {
  readonly from: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** The mode in the guest; a file whose mode differs from its source's is copied, never linked. */
  readonly mode: number;
  readonly sourceMode: number;
}

/** What goes where in the guest: regular files from the host, symlinks, empty directories. */
interface Plan {
  readonly files: Map<string, PlannedFile>;
  readonly symlinks: Map<string, string>;
  readonly dirs: string[];
}

/** A host file (symlinks followed: libraries are mostly symlinks) at guest path `to`. */
async function addFile(plan: Plan, from: string, to: string, mode?: number): Promise<void> {
  const file = await realpath(from);
  const st = await stat(file);
  const sourceMode = st.mode & 0o7777;
  // A real tool replaces the busybox applet of the same name.
  plan.symlinks.delete(to);
  plan.files.set(to, { from: file, size: st.size, mtimeMs: st.mtimeMs, mode: mode ?? sourceMode, sourceMode });
}

/** An executable (or shared object) and its libraries; the libraries at their host paths. */
async function addExecutable(plan: Plan, path: string, at = path): Promise<void> {
  await addFile(plan, path, at);
  for (const lib of sharedLibraries(path)) await addFile(plan, lib, lib);
}

/** A host directory tree at guest path `to`, skipping what `skip` says. */
async function addTree(plan: Plan, from: string, to: string, skip: (rel: string) => boolean): Promise<void> {
  for (const entry of await readdir(from, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const rel = relative(from, path);
    if (skip(rel)) continue;
    if (entry.isSymbolicLink()) plan.symlinks.set(join(to, rel), await readlink(path));
    else if (entry.isFile()) await addFile(plan, path, join(to, rel));
  }
}

async function planSystem(): Promise<Plan> {
  const plan: Plan = { files: new Map(), symlinks: new Map(), dirs: ['/dev', '/proc', '/sys', '/tmp', '/mnt/scratch'] };
  const busybox = findExecutable('busybox');
  if (!busybox) throw new Error('busybox is not installed');
  await addExecutable(plan, busybox, '/bin/busybox');
  const applets = spawnSync(busybox, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter((a) => /^[\w.[-]+$/.test(a));
  for (const applet of applets) if (applet !== 'busybox') plan.symlinks.set(`/bin/${applet}`, 'busybox');
  // bin/cfskit starts with #!/usr/bin/env node.
  plan.symlinks.set('/usr/bin/env', '/bin/busybox');
  await addExecutable(plan, process.execPath, '/usr/bin/node');
  for (const tool of GUEST_TOOLS) {
    const path = findExecutable(tool);
    if (!path) throw new Error(`${tool} is not installed (run npm run setup as root)`);
    await addExecutable(plan, path);
  }
  await addFile(plan, join(GUEST_DIR, 'stage2.sh'), '/sbin/cfskit-stage2', 0o755);

  const addon = 'host-bindings/build/Release/cfskit_host.node';
  if (!existsSync(join(ROOT, addon))) throw new Error(`${addon} is not built (run npm run build)`);
  for (const file of ['package.json', 'bin/cfskit']) await addFile(plan, join(ROOT, file), join(GUEST_PROJECT, file));
  // The addon with whatever it links beyond what node already brings.
  await addExecutable(plan, join(ROOT, addon), join(GUEST_PROJECT, addon));
  await addTree(plan, join(ROOT, 'dist'), join(GUEST_PROJECT, 'dist'), (rel) => rel.endsWith('.tsbuildinfo'));
  // uvu is a dev dependency, but the guest runs the tests with it.
  for (const pkg of runtimePackages(ROOT, [...projectDependencies(ROOT), 'uvu'])) {
    await addTree(plan, join(ROOT, pkg), join(GUEST_PROJECT, pkg), (rel) => rel === 'node_modules' || rel.startsWith('node_modules/'));
  }
  return plan;
}

/** Changes whenever the image would: any path, source, size, mtime or mode. */
function planKey(plan: Plan): string {
  const hash = createHash('sha256');
  for (const [to, f] of [...plan.files].sort(([a], [b]) => a.localeCompare(b))) hash.update(`F ${to} ${f.from} ${f.size} ${f.mtimeMs} ${f.mode}\n`);
  for (const [to, target] of [...plan.symlinks].sort(([a], [b]) => a.localeCompare(b))) hash.update(`L ${to} ${target}\n`);
  for (const dir of plan.dirs) hash.update(`D ${dir}\n`);
  return hash.digest('hex').slice(0, 16);
}

/** Lays the plan out under `stage`: hard links where possible (mkfs only reads them), else copies. */
async function materialize(plan: Plan, stage: string): Promise<void> {
  for (const dir of plan.dirs) await mkdir(join(stage, dir), { recursive: true });
  for (const [to, f] of plan.files) {
    const path = join(stage, to);
    await mkdir(dirname(path), { recursive: true });
    if (f.mode === f.sourceMode) await link(f.from, path).catch(() => copyFile(f.from, path));
    else await copyFile(f.from, path);
  }
  for (const [to, target] of plan.symlinks) {
    const path = join(stage, to);
    await mkdir(dirname(path), { recursive: true });
    await symlink(target, path);
  }
  // A copy need not have kept the mode (umask, or a mode of our own).
  for (const [to, f] of plan.files) if (f.mode !== f.sourceMode) await chmod(join(stage, to), f.mode);
}

/** The system image for the current checkout, from the cache or built into it. */
export async function prepareSystemImage(cacheDir: string, log: (msg: string) => void): Promise<string> {
  const plan = await planSystem();
  const image = join(cacheDir, `system-${planKey(plan)}.img`);
  if (existsSync(image)) return image;
  await mkdir(cacheDir, { recursive: true });
  const stage = await mkdtemp(join(cacheDir, '.system-'));
  try {
    log(`building ${image}`);
    await materialize(plan, join(stage, 'root'));
    const bytes = [...plan.files.values()].reduce((n, f) => n + f.size, 0);
    const sizeMiB = Math.ceil((bytes * 1.15) / MiB) + 32;
    // Read-only in the guest, so no journal.
    await check('mkfs.ext4', ['-q', '-F', '-b', '4096', '-m', '0', '-O', '^has_journal', '-L', 'cfskit-system', '-d', join(stage, 'root'), join(stage, 'system.img'), `${sizeMiB}M`]);
    // Only the newest image is kept: each is the size of node and the project.
    for (const old of await readdir(cacheDir)) if (/^system-\w+\.img$/.test(old)) await rm(join(cacheDir, old), { force: true });
    await rename(join(stage, 'system.img'), image);
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
  return image;
}

/** Builds `work/scratch.img`: an empty ext4 with 4 KiB blocks and the verity feature. */
export async function buildScratchImage(work: string, sizeMiB: number): Promise<string> {
  const image = join(work, 'scratch.img');
  // Few inodes: mkfs writes every inode table, and the tests make few files.
  await check('mkfs.ext4', ['-q', '-F', '-b', '4096', '-O', 'verity', '-N', '8192', '-L', 'cfskit-scratch', image, `${sizeMiB}M`]);
  return image;
}

/** For log lines: a file's size. */
export async function sizeMiB(path: string): Promise<number> {
  return Math.round((await lstat(path)).size / MiB);
}
