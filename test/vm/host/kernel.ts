/**
 * The guest kernel: Debian's cloud kernel from bookworm-backports (it has
 * CONFIG_FS_VERITY, which the host kernel may lack, and is new enough for
 * overlayfs verity=require), downloaded with a private apt (apt.ts) and kept
 * under .cache/vm/kernel/, one directory per package version. Only the
 * first run downloads.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { check } from '../../support/cli.js';
import { aptDownload, aptShow, aptUpdate, listsStamp, privateApt, SUITE, type PrivateApt } from './apt.js';

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

/**
 * The candidate from `apt-cache show` (a second here, since this apt keeps
 * no binary cache), remembered until the package lists change.
 */
async function candidate(apt: PrivateApt, kernels: string): Promise<KernelPackage | undefined> {
  const memo = join(kernels, 'candidate.json');
  const stamp = await listsStamp(apt);
  const known = await readFile(memo, 'utf8').then((t) => JSON.parse(t) as { stamp: string; pkg: KernelPackage }, () => undefined);
  if (known?.stamp === stamp) return known.pkg;
  const show = await aptShow(apt, META_PACKAGE);
  const pkg = show === undefined ? undefined : parseCandidate(show);
  if (pkg) {
    await mkdir(kernels, { recursive: true });
    await writeFile(memo, `${JSON.stringify({ stamp, pkg })}\n`);
  }
  return pkg;
}

/** Refreshes the private package lists; a failure is logged, since a cached kernel may still do. */
async function refreshLists(apt: PrivateApt, log: (msg: string) => void, why: string): Promise<void> {
  log(`apt-get update of ${SUITE} in ${apt.dir} (${why})`);
  await aptUpdate(apt).catch((err: unknown) => log(`apt-get update failed: ${err instanceof Error ? err.message.trim() : String(err)}`));
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
async function download(apt: PrivateApt, pkg: KernelPackage, kernels: string, dir: string): Promise<Kernel> {
  await mkdir(kernels, { recursive: true });
  const tmp = await mkdtemp(join(kernels, '.download-'));
  try {
    await aptDownload(apt, pkg.name, pkg.version, tmp);
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
  const apt = await privateApt(cacheDir);
  let pkg = await candidate(apt, kernels);
  let updated = false;
  if (!pkg) {
    await refreshLists(apt, log, `they name no ${META_PACKAGE}`);
    updated = true;
    pkg = await candidate(apt, kernels);
  }
  if (!pkg) {
    const cached = await newestCached(kernels);
    if (cached) {
      log(`apt names no ${META_PACKAGE}; using cached ${cached.pkg.name} ${cached.pkg.version}`);
      return cached;
    }
    throw new Error(`apt-cache knows no ${META_PACKAGE} in ${SUITE} and none is cached (is the mirror reachable?)`);
  }
  const cached = await loadCached(join(kernels, dirName(pkg)));
  if (cached) return cached;
  log(`downloading ${pkg.name} ${pkg.version} into ${kernels}`);
  try {
    return await download(apt, pkg, kernels, join(kernels, dirName(pkg)));
  } catch (err) {
    // Stale lists name a version the mirror has dropped: refresh, try once more.
    if (updated) throw err;
    await refreshLists(apt, log, `download failed: ${err instanceof Error ? err.message.trim() : String(err)}`);
    pkg = await candidate(apt, kernels);
    if (!pkg) throw err;
    const again = await loadCached(join(kernels, dirName(pkg)));
    return again ?? (await download(apt, pkg, kernels, join(kernels, dirName(pkg))));
  }
}
