/**
 * How `podman run <booted image>` finds the system's images: podman reads
 * the system containers-storage (`/usr/lib/bootc/storage` on the booted
 * root) as an additional image store, read-only. Two ways:
 * - per command, as bootc documents it:
 *   `podman --storage-opt additionalimagestore=/usr/lib/bootc/storage run …`
 * - for every podman call, a storage.conf drop-in in
 *   /etc/containers/storage.conf.d/ (read by podman 6 and later) whose
 *   array says `{append=true}`, so it adds to the stores other files
 *   configure instead of replacing them.
 * bootc warns against the second: the system store drops layers when
 * deployments go, and "floating" images podman pulled into its own store
 * may have reused them through the additional store.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { stringify } from 'smol-toml';
import { systemError } from '../../common/index.js';
import { BOOTED_STORAGE_PATH } from './layout.js';

export const DROPIN_DIR = '/etc/containers/storage.conf.d';
export const DROPIN_NAME = '50-bootc-storage.conf';

export const GLOBAL_WARNING =
  'bootc advises against configuring the system store for every podman command: it is managed by bootc, which removes ' +
  'images and their layers when deployments are collected, and images podman pulls into its own store may come to ' +
  'depend on those layers. Prefer the per-command option (or GlobalArgs= in a Quadlet unit) for the images bootc binds.';

/** The `--storage-opt` that makes one podman command see the store. */
export function storageOpt(store: string = BOOTED_STORAGE_PATH): string {
  return `additionalimagestore=${store}`;
}

/** The drop-in's text: the store appended to `additionalimagestores`. */
export function dropinText(store: string = BOOTED_STORAGE_PATH): string {
  const body = stringify({ storage: { options: { additionalimagestores: [store, { append: true }] } } });
  return (
    '# The bootc system containers-storage as an additional (read-only) image store,\n' +
    '# appended to any configured elsewhere ({append=true}, podman 6 and later).\n' +
    '# Written by cfskit sysroot podman-config --write.\n' +
    `${body}`
  );
}

/** podman's major version, or undefined when podman is not there. */
export function podmanMajor(podman = 'podman'): number | undefined {
  const r = spawnSync(podman, ['--version'], { encoding: 'utf8' });
  const m = /version (\d+)\./.exec(r.stdout ?? '');
  return r.status === 0 && m ? Number(m[1]) : undefined;
}

/** The explanation `--print` shows. */
export function describePodmanConfig(store: string = BOOTED_STORAGE_PATH, major = podmanMajor()): string {
  const lines = [
    `The system containers-storage is ${store}. podman can use its images read-only:`,
    '',
    'For one command (what bootc documents):',
    `  podman --storage-opt ${storageOpt(store)} run IMAGE`,
    '',
    `For every command, a drop-in ${join(DROPIN_DIR, DROPIN_NAME)} (cfskit sysroot podman-config --write):`,
    ...dropinText(store).trimEnd().split('\n').map((l) => `  ${l}`),
    '',
    GLOBAL_WARNING,
  ];
  if (major !== undefined && major < 6) {
    lines.push('', `This podman (${major}.x) reads no storage.conf.d drop-ins and cannot parse {append=true}: use the per-command option.`);
  }
  return `${lines.join('\n')}\n`;
}

/** Writes the drop-in atomically (a synced temporary file renamed into place); returns its path. */
export async function writeDropin(dir: string = DROPIN_DIR, store: string = BOOTED_STORAGE_PATH): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o755 }).catch((err: unknown) => {
    throw systemError(err, dir, 'mkdir');
  });
  const target = join(dir, DROPIN_NAME);
  const temp = join(dir, `.${DROPIN_NAME}.${randomBytes(6).toString('hex')}`);
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(dropinText(store));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw systemError(err, target, 'write');
  }
  // The rename is durable once the directory is.
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
  return target;
}
