/**
 * The initramfs: busybox, the kernel modules the guest needs before it can
 * see its disks, and stage 1 (guest/init.sh). Built once per kernel, init
 * script and busybox, and cached beside the kernel.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { once } from 'node:events';
import type { Kernel } from './kernel.js';
import { findExecutable, sharedLibraries } from './ldd.js';
import { readModule, resolveModules } from './modules.js';
import { GUEST_DIR } from './paths.js';

/**
 * What stage 1 loads unless the kernel has it built in (dependencies come
 * along): virtio PCI and disks, SHA-512 for fs-verity, virtio-rng for
 * entropy, and for composefs mounts loop, erofs and overlay (the guest has
 * no modprobe, so nothing loads on demand).
 */
export const GUEST_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_rng', 'sha512_generic', 'loop', 'erofs', 'overlay'] as const;

/** Writes a newc cpio archive of `dir` (paths relative to it) to `output`. */
async function writeCpio(dir: string, output: string): Promise<void> {
  const entries = (await readdir(dir, { recursive: true })).sort();
  const child = spawn('cpio', ['-o', '-H', 'newc', '--quiet', '--owner=0:0'], { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
  const out = createWriteStream(output);
  child.stdout.pipe(out);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(['.', ...entries].join('\n') + '\n');
  const [status] = (await once(child, 'close')) as [number | null];
  if (!out.writableFinished) await once(out, 'finish');
  if (status !== 0) throw new Error(`cpio failed (${status}): ${stderr.trim()}`);
}

/** Copies `from` to the same absolute path under `root`. */
async function copyInto(root: string, from: string): Promise<void> {
  const to = join(root, from);
  await mkdir(dirname(to), { recursive: true });
  await copyFile(from, to);
}

/** The initramfs for `kernel`, from the cache or built into it. */
export async function prepareInitramfs(kernel: Kernel, log: (msg: string) => void): Promise<string> {
  const busybox = findExecutable('busybox');
  if (!busybox) throw new Error('busybox is not installed');
  const libs = sharedLibraries(busybox);
  const initScript = await readFile(join(GUEST_DIR, 'init.sh'));
  const modules = await resolveModules(kernel.moduleTree, GUEST_MODULES);

  const key = createHash('sha256');
  key.update(initScript).update(modules.map((m) => m.name).join(','));
  for (const file of [busybox, ...libs]) key.update(file).update(await readFile(file));
  const output = join(kernel.dir, `initramfs-${key.digest('hex').slice(0, 16)}.cpio`);
  if (existsSync(output)) return output;

  log(`building ${output}`);
  const stage = await mkdtemp(join(kernel.dir, '.initramfs-'));
  try {
    for (const d of ['bin', 'dev', 'proc', 'sys', 'newroot', 'lib/modules']) await mkdir(join(stage, d), { recursive: true });
    await copyFile(busybox, join(stage, 'bin/busybox'));
    for (const lib of libs) await copyInto(stage, lib);
    const applets = spawnSync(busybox, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter((a) => /^[\w.[-]+$/.test(a));
    for (const applet of applets) if (applet !== 'busybox') await symlink('busybox', join(stage, 'bin', applet));
    for (const m of modules) await writeFile(join(stage, 'lib/modules', `${m.name}.ko`), await readModule(m.path));
    await writeFile(join(stage, 'modules'), modules.map((m) => `${m.name}\n`).join(''));
    await writeFile(join(stage, 'init'), initScript);
    await chmod(join(stage, 'init'), 0o755);
    // Uncompressed: unpacking gzip costs more under TCG than reading 3 MB.
    await writeCpio(stage, `${stage}.cpio`);
    await rename(`${stage}.cpio`, output);
  } finally {
    await rm(stage, { recursive: true, force: true });
    await rm(`${stage}.cpio`, { force: true });
  }
  return output;
}
