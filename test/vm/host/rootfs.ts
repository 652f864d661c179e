/**
 * The guest's disks, made fresh for each run in a temp directory:
 *  - the system image (vda, mounted read-only as /): busybox, /usr/bin/node
 *    and the tools the tests call, each with exactly the shared libraries
 *    ldd names, and the project's built code under /cfskit;
 *  - the scratch image (vdb): an empty ext4 with the verity feature.
 * Rebuilding the system image each run costs about a second and means the
 * guest always runs the current dist/.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, cp, link, lstat, mkdir, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { check } from '../../support/cli.js';
import { envFile } from './guest-env.js';
import { findExecutable, sharedLibraries } from './ldd.js';
import { projectDependencies, runtimePackages } from './npm.js';
import { GUEST_DIR, ROOT } from './paths.js';

/** Host tools the guest tests run, installed at their host paths. */
export const GUEST_TOOLS = ['fsverity', 'filefrag'] as const;

/** Where the project sits in the guest. */
export const GUEST_PROJECT = '/cfskit';

const MiB = 1 << 20;

/**
 * The file `from` names (libraries are mostly symlinks) as a regular file
 * at `to`: a hard link where possible (the image builder only reads it),
 * else a copy.
 */
async function place(from: string, to: string): Promise<void> {
  const file = await realpath(from);
  await mkdir(dirname(to), { recursive: true });
  await rm(to, { force: true });
  await link(file, to).catch(() => copyFile(file, to));
}

/** An executable and its libraries at their host paths under `stage`. */
async function placeExecutable(stage: string, path: string, at = path): Promise<void> {
  await place(path, join(stage, at));
  for (const lib of sharedLibraries(path)) await place(lib, join(stage, lib));
}

async function placeProject(stage: string): Promise<void> {
  const project = join(stage, GUEST_PROJECT);
  const addon = 'host-bindings/build/Release/cfskit_host.node';
  if (!existsSync(join(ROOT, addon))) throw new Error(`${addon} is not built (run npm run build)`);
  for (const file of ['package.json', 'bin/cfskit', addon]) await place(join(ROOT, file), join(project, file));
  await cp(join(ROOT, 'dist'), join(project, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.tsbuildinfo') });
  // uvu is a dev dependency, but the guest runs the tests with it.
  for (const pkg of runtimePackages(ROOT, [...projectDependencies(ROOT), 'uvu'])) {
    const from = join(ROOT, pkg);
    await cp(from, join(project, pkg), { recursive: true, filter: (src) => !src.startsWith(join(from, 'node_modules')) });
  }
}

async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { recursive: true })) total += (await lstat(join(dir, entry))).size;
  return total;
}

/** Builds `work/system.img`; `env` reaches the guest tests as environment. */
export async function buildSystemImage(work: string, env: Readonly<Record<string, string>>): Promise<string> {
  const stage = join(work, 'system');
  for (const d of ['bin', 'sbin', 'etc', 'dev', 'proc', 'sys', 'tmp', 'mnt/scratch']) await mkdir(join(stage, d), { recursive: true });
  const busybox = findExecutable('busybox');
  if (!busybox) throw new Error('busybox is not installed');
  await placeExecutable(stage, busybox, '/bin/busybox');
  const applets = spawnSync(busybox, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter((a) => /^[\w.[-]+$/.test(a));
  for (const applet of applets) if (applet !== 'busybox') await symlink('busybox', join(stage, 'bin', applet));
  // bin/cfskit starts with #!/usr/bin/env node.
  await mkdir(join(stage, 'usr/bin'), { recursive: true });
  await symlink('/bin/busybox', join(stage, 'usr/bin/env'));
  await placeExecutable(stage, process.execPath, '/usr/bin/node');
  for (const tool of GUEST_TOOLS) {
    const path = findExecutable(tool);
    if (!path) throw new Error(`${tool} is not installed (run npm run setup as root)`);
    await placeExecutable(stage, path);
  }
  await placeProject(stage);
  await copyFile(join(GUEST_DIR, 'stage2.sh'), join(stage, 'sbin/cfskit-stage2'));
  await chmod(join(stage, 'sbin/cfskit-stage2'), 0o755);
  await writeFile(join(stage, 'etc/cfskit-vm.env'), envFile(env));

  const image = join(work, 'system.img');
  const sizeMiB = Math.ceil((await treeBytes(stage)) * 1.15 / MiB) + 32;
  // Read-only in the guest, so no journal (and no journal to write here).
  await check('mkfs.ext4', ['-q', '-F', '-b', '4096', '-m', '0', '-O', '^has_journal', '-L', 'cfskit-system', '-d', stage, image, `${sizeMiB}M`]);
  await rm(stage, { recursive: true, force: true });
  return image;
}

/** Builds `work/scratch.img`: an empty ext4 with 4 KiB blocks and the verity feature. */
export async function buildScratchImage(work: string, sizeMiB: number): Promise<string> {
  const image = join(work, 'scratch.img');
  // Few inodes: mkfs writes every inode table, and the tests make few files.
  await check('mkfs.ext4', ['-q', '-F', '-b', '4096', '-O', 'verity', '-N', '8192', '-L', 'cfskit-scratch', image, `${sizeMiB}M`]);
  return image;
}

/** For log lines: a file's name and size. */
export async function describeImage(path: string): Promise<string> {
  const st = await lstat(path);
  return `${basename(path)} ${(st.size / MiB).toFixed(0)} MiB`;
}

