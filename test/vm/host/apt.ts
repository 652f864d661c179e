/**
 * A private apt for the guest kernel: bookworm-backports' package lists and
 * downloads kept under .cache/vm/apt/, so neither the system's sources nor
 * its state are read or touched (and no root is needed: apt writes only
 * there). Backports, because overlayfs can require fs-verity (verity=)
 * only from Linux 6.6, and bookworm itself ships 6.1.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { check, run } from '../../support/cli.js';

/** The suite's mirror; CFSKIT_VM_APT_MIRROR replaces it (e.g. a local mirror in CI). */
export const DEFAULT_MIRROR = 'http://deb.debian.org/debian';
export const SUITE = 'bookworm-backports';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export interface PrivateApt {
  readonly dir: string;
  /** `-o` options that point apt at the private configuration and state. */
  readonly options: readonly string[];
  readonly lists: string;
}

/** The one sources.list line the private apt reads. */
export function sourcesLine(mirror: string): string {
  return `deb [signed-by=${KEYRING}] ${mirror} ${SUITE} main\n`;
}

/**
 * apt options for a configuration rooted at `dir`: its own sources list (no
 * sources.list.d), lists, archive cache and an empty dpkg status, and no
 * pinning from /etc/apt/preferences*.
 */
export function aptOptions(dir: string, asRoot: boolean): string[] {
  const settings: Record<string, string> = {
    'Dir::Etc::SourceList': join(dir, 'sources.list'),
    'Dir::Etc::SourceParts': '/dev/null',
    'Dir::Etc::Preferences': '/dev/null',
    'Dir::Etc::PreferencesParts': '/dev/null',
    'Dir::State::Lists': join(dir, 'lists'),
    'Dir::State::status': join(dir, 'status'),
    'Dir::Cache': join(dir, 'cache'),
  };
  // As root apt drops to _apt for downloads, which cannot write in here.
  if (asRoot) settings['APT::Sandbox::User'] = 'root';
  return Object.entries(settings).flatMap(([key, value]) => ['-o', `${key}=${value}`]);
}

/** Creates (or refreshes) the private configuration under `cacheDir`/apt. */
export async function privateApt(cacheDir: string): Promise<PrivateApt> {
  if (!existsSync(KEYRING)) throw new Error(`${KEYRING} is missing (install debian-archive-keyring)`);
  const dir = join(cacheDir, 'apt');
  for (const sub of ['lists/partial', 'cache/archives/partial']) await mkdir(join(dir, sub), { recursive: true });
  await writeFile(join(dir, 'sources.list'), sourcesLine(process.env.CFSKIT_VM_APT_MIRROR ?? DEFAULT_MIRROR));
  if (!existsSync(join(dir, 'status'))) await writeFile(join(dir, 'status'), '');
  return { dir, options: aptOptions(dir, process.getuid?.() === 0), lists: join(dir, 'lists') };
}

/** Changes when apt-get update brings new package lists (it rewrites the files that changed). */
export async function listsStamp(apt: PrivateApt): Promise<string> {
  const names = (await readdir(apt.lists).catch(() => [] as string[])).filter((n) => n !== 'partial' && n !== 'lock');
  let newest = 0;
  for (const name of names) newest = Math.max(newest, (await stat(join(apt.lists, name)).catch(() => undefined))?.mtimeMs ?? 0);
  return `${names.length}:${newest}`;
}

export async function aptUpdate(apt: PrivateApt): Promise<void> {
  await check('apt-get', [...apt.options, 'update', '-qq']);
}

export async function aptShow(apt: PrivateApt, pkg: string): Promise<string | undefined> {
  const r = await run('apt-cache', [...apt.options, 'show', '--no-all-versions', pkg]).catch(() => undefined);
  return r?.status === 0 ? r.stdout : undefined;
}

/** Downloads `name=version` into `cwd`. */
export async function aptDownload(apt: PrivateApt, name: string, version: string, cwd: string): Promise<void> {
  await check('apt-get', [...apt.options, 'download', '-qq', `${name}=${version}`], { cwd });
}
