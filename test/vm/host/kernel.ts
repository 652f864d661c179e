/**
 * The guest kernel: Debian's cloud kernel (it has CONFIG_FS_VERITY; the host
 * kernel may not), downloaded with apt-get and kept under .cache/vm/kernel/,
 * one directory per package version. Only the first run downloads.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { check, run } from '../../support/cli.js';

/** The metapackage that always depends on the current cloud kernel. */
const META_PACKAGE = 'linux-image-cloud-amd64';

export interface KernelPackage {
  readonly name: string;
  readonly version: string;
}

export interface Kernel {
  readonly pkg: KernelPackage;
  /** `uname -r` in the guest, e.g. 6.1.0-56-cloud-amd64. */
  readonly release: string;
  readonly dir: string;
  readonly vmlinuz: string;
  /** lib/modules/<release>/ of the package. */
  readonly moduleTree: string;
}

/**
 * The kernel package the metapackage's candidate depends on, from
 * `apt-cache show --no-all-versions`: `Depends: linux-image-X (= V)`.
 */
export function parseCandidate(show: string): KernelPackage | undefined {
  const depends = /^Depends: (.*)$/m.exec(show)?.[1] ?? '';
  const m = /(linux-image-[0-9][^\s,(]*) \(= ([^)\s]+)\)/.exec(depends);
  return m?.[1] && m[2] ? { name: m[1], version: m[2] } : undefined;
}

const APT_LISTS = '/var/lib/apt/lists';

/** Changes when apt-get update brings new package lists (it rewrites the files that changed). */
async function listsStamp(): Promise<string> {
  const names = await readdir(APT_LISTS).catch(() => []);
  let newest = 0;
  for (const name of names) newest = Math.max(newest, (await stat(join(APT_LISTS, name)).catch(() => undefined))?.mtimeMs ?? 0);
  return `${names.length}:${newest}`;
}

/**
 * The candidate from `apt-cache show` (a second here, since this apt keeps
 * no binary cache), remembered until the package lists change.
 */
async function candidate(kernels: string): Promise<KernelPackage | undefined> {
  const memo = join(kernels, 'candidate.json');
  const stamp = await listsStamp();
  const known = await readFile(memo, 'utf8').then((t) => JSON.parse(t) as { stamp: string; pkg: KernelPackage }, () => undefined);
  if (known?.stamp === stamp) return known.pkg;
  const r = await run('apt-cache', ['show', '--no-all-versions', META_PACKAGE]).catch(() => undefined);
  const pkg = r?.status === 0 ? parseCandidate(r.stdout) : undefined;
  if (pkg) {
    await mkdir(kernels, { recursive: true });
    await writeFile(memo, `${JSON.stringify({ stamp, pkg })}\n`);
  }
  return pkg;
}

const isRoot = (): boolean => process.getuid?.() === 0;

/** Refreshes the package lists; a failure is logged, since a cached kernel may still do. */
async function aptUpdate(log: (msg: string) => void): Promise<void> {
  log('apt-get update (the package lists do not name a usable cloud kernel)');
  await check('apt-get', ['update', '-qq']).catch((err: unknown) => log(`apt-get update failed: ${err instanceof Error ? err.message.trim() : String(err)}`));
}

/** Removes every cached kernel but `keep`: each is about 100 MiB, and only the current one is used. */
async function removeOtherKernels(kernels: string, keep: string): Promise<void> {
  for (const name of await readdir(kernels)) {
    const path = join(kernels, name);
    if (path !== keep && !name.startsWith('.') && (await stat(path)).isDirectory()) await rm(path, { recursive: true, force: true });
  }
}

const dirName = (pkg: KernelPackage): string => `${pkg.name}_${pkg.version}`.replace(/[^A-Za-z0-9._+-]/g, '_');

async function loadCached(dir: string): Promise<Kernel | undefined> {
  if (!existsSync(join(dir, 'complete'))) return undefined;
  const meta = JSON.parse(await readFile(join(dir, 'complete'), 'utf8')) as { pkg: KernelPackage; release: string };
  return { pkg: meta.pkg, release: meta.release, dir, vmlinuz: join(dir, 'vmlinuz'), moduleTree: join(dir, 'modules') };
}

/** The most recently cached kernel, for when apt knows of none (offline, no lists). */
async function newestCached(kernels: string): Promise<Kernel | undefined> {
  const entries = existsSync(kernels) ? await readdir(kernels) : [];
  const found: { kernel: Kernel; mtime: number }[] = [];
  for (const name of entries) {
    const kernel = await loadCached(join(kernels, name));
    if (kernel) found.push({ kernel, mtime: (await stat(join(kernels, name, 'complete'))).mtimeMs });
  }
  return found.sort((a, b) => b.mtime - a.mtime)[0]?.kernel;
}

/** Downloads and unpacks `pkg` into `dir`, atomically (a temp dir renamed). */
async function download(pkg: KernelPackage, kernels: string, dir: string): Promise<Kernel> {
  await mkdir(kernels, { recursive: true });
  const tmp = await mkdtemp(join(kernels, '.download-'));
  try {
    // As root apt sandboxes downloads as _apt, which cannot write here; the
    // warning it prints about falling back is noise, so ask for root directly.
    const sandbox = isRoot() ? ['-o', 'APT::Sandbox::User=root'] : [];
    await check('apt-get', ['download', '-qq', ...sandbox, `${pkg.name}=${pkg.version}`], { cwd: tmp });
    const deb = (await readdir(tmp)).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pkg.name}=${pkg.version} left no .deb`);
    const tree = join(tmp, 'tree');
    await check('dpkg-deb', ['-x', join(tmp, deb), tree]);
    const releases = await readdir(join(tree, 'lib/modules'));
    const release = releases[0];
    if (releases.length !== 1 || !release) throw new Error(`${deb}: expected one lib/modules/<release>, found ${releases.join(', ')}`);
    await rename(join(tree, 'boot', `vmlinuz-${release}`), join(tmp, 'vmlinuz'));
    await rename(join(tree, 'boot', `config-${release}`), join(tmp, 'config'));
    await rename(join(tree, 'lib/modules', release), join(tmp, 'modules'));
    await rm(tree, { recursive: true, force: true });
    await rm(join(tmp, deb));
    await writeFile(join(tmp, 'complete'), `${JSON.stringify({ pkg, release })}\n`);
    // Another run may have finished the same download meanwhile; keep theirs.
    await rename(tmp, dir).catch(async (err: unknown) => {
      if (!existsSync(join(dir, 'complete'))) throw err;
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const kernel = await loadCached(dir);
  if (!kernel) throw new Error(`${dir}: unpacked kernel is incomplete`);
  await removeOtherKernels(kernels, dir);
  return kernel;
}

/** The cloud kernel, from the cache or downloaded into it. */
export async function prepareKernel(cacheDir: string, log: (msg: string) => void): Promise<Kernel> {
  const kernels = join(cacheDir, 'kernel');
  let pkg = await candidate(kernels);
  let updated = false;
  if (!pkg && isRoot()) {
    await aptUpdate(log);
    updated = true;
    pkg = await candidate(kernels);
  }
  if (!pkg) {
    const cached = await newestCached(kernels);
    if (cached) {
      log(`apt names no ${META_PACKAGE}; using cached ${cached.pkg.name} ${cached.pkg.version}`);
      return cached;
    }
    throw new Error(`apt-cache knows no ${META_PACKAGE} and none is cached (run apt-get update as root)`);
  }
  const cached = await loadCached(join(kernels, dirName(pkg)));
  if (cached) return cached;
  log(`downloading ${pkg.name} ${pkg.version} into ${kernels}`);
  try {
    return await download(pkg, kernels, join(kernels, dirName(pkg)));
  } catch (err) {
    // Stale lists name a version the mirror has dropped: refresh, try once more.
    if (updated || !isRoot()) throw err;
    log(`download failed (${err instanceof Error ? err.message.trim() : String(err)}); refreshing the package lists`);
    await aptUpdate(log);
    pkg = await candidate(kernels);
    if (!pkg) throw err;
    const again = await loadCached(join(kernels, dirName(pkg)));
    return again ?? (await download(pkg, kernels, join(kernels, dirName(pkg))));
  }
}
