/**
 * Where containers-storage keeps its stores, as podman would find them:
 * storage.conf (`$CONTAINERS_STORAGE_CONF`, else the user's
 * `~/.config/containers/storage.conf` when not root, else
 * `/etc/containers/storage.conf`, else `/usr/share/containers/storage.conf`),
 * `$STORAGE_DRIVER`, `$STORAGE_OPTS` (`additionalimagestore=DIR`, comma
 * separated), then the default roots. Only reads; never creates anything.
 */
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { InputError, NotFoundError, systemError, isErrno } from '../../common/index.js';

export interface StorageOptions {
  /** The primary store; skips discovery (storage.conf roots, $STORAGE_OPTS). */
  storageRoot?: string;
  /** Read-only stores searched after the primary one, in order. */
  additionalImageStores?: readonly string[];
  /** Environment to read instead of process.env (tests). */
  env?: NodeJS.ProcessEnv;
  /** Effective uid to assume instead of the process's (tests). */
  uid?: number;
}

/** A store to open and why it was chosen. */
export interface StoreLocation {
  readonly root: string;
  /** The driver storage.conf or $STORAGE_DRIVER names for it; '' if none. */
  readonly configuredDriver: string;
  /** Additional image stores are read-only to podman too. */
  readonly additional: boolean;
  readonly source: string;
}

interface StorageConf {
  readonly path: string | undefined;
  /** From $CONTAINERS_STORAGE_CONF or the user's own file (not the system's). */
  readonly personal: boolean;
  readonly driver: string;
  readonly graphroot: string | undefined;
  readonly rootlessStoragePath: string | undefined;
  readonly additionalImageStores: readonly string[];
}

const NO_CONF: StorageConf = {
  path: undefined, personal: false, driver: '', graphroot: undefined, rootlessStoragePath: undefined, additionalImageStores: [],
};

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return false;
    throw systemError(err, path, 'stat');
  }
}

function stringField(path: string, table: Record<string, unknown>, key: string): string | undefined {
  const value = table[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InputError(path, `storage.${key} must be a string`);
  return value;
}

function table(path: string, parent: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = parent[key];
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(path, `[${key}] must be a table`);
  }
  return value as Record<string, unknown>;
}

/** Reads the settings cfskit uses from one storage.conf. */
export async function readStorageConf(path: string, personal = false): Promise<StorageConf> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw systemError(err, path, 'open');
  }
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new InputError(path, `not valid TOML: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const storage = table(path, doc, 'storage');
  const options = table(path, storage, 'options');
  const stores = options.additionalimagestores ?? [];
  if (!Array.isArray(stores) || !stores.every((s): s is string => typeof s === 'string')) {
    throw new InputError(path, 'storage.options.additionalimagestores must be a list of strings');
  }
  return {
    path,
    personal,
    driver: stringField(path, storage, 'driver') ?? '',
    graphroot: stringField(path, storage, 'graphroot'),
    rootlessStoragePath: stringField(path, storage, 'rootless_storage_path'),
    additionalImageStores: stores,
  };
}

/** The storage.conf podman would read, if any. */
async function findStorageConf(env: NodeJS.ProcessEnv, rootless: boolean, home: string): Promise<StorageConf> {
  const explicit = env.CONTAINERS_STORAGE_CONF;
  if (explicit) return readStorageConf(explicit, true);
  const user = join(env.XDG_CONFIG_HOME || join(home, '.config'), 'containers/storage.conf');
  if (rootless && (await exists(user))) return readStorageConf(user, true);
  for (const path of ['/etc/containers/storage.conf', '/usr/share/containers/storage.conf']) {
    if (await exists(path)) return readStorageConf(path);
  }
  return NO_CONF;
}

/** `additionalimagestore=DIR` items of a $STORAGE_OPTS value. */
export function storageOptsImageStores(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item.startsWith('additionalimagestore='))
    .map((item) => item.slice('additionalimagestore='.length))
    .filter((path) => path !== '');
}

/** $HOME with `~` in storage.conf paths, as containers-storage expands it. */
function expand(path: string, home: string): string {
  return path.startsWith('~/') ? join(home, path.slice(2)) : path;
}

/**
 * The stores to read, primary first. With `storageRoot` that root and the
 * explicit additional stores only; otherwise the first existing of the
 * configured root, the rootless default and /var/lib/containers/storage,
 * then additional stores from storage.conf, $STORAGE_OPTS and the options.
 */
export async function locateStores(options: StorageOptions = {}): Promise<StoreLocation[]> {
  const env = options.env ?? process.env;
  const uid = options.uid ?? process.geteuid?.() ?? 0;
  const rootless = uid !== 0;
  const home = env.HOME || homedir();
  const explicitExtra = (options.additionalImageStores ?? []).map((dir) => ({
    root: resolve(dir), configuredDriver: '', additional: true, source: 'additional image store option',
  }));
  if (options.storageRoot !== undefined) {
    const primary = { root: resolve(options.storageRoot), configuredDriver: '', additional: false, source: 'storage root option' };
    return [primary, ...explicitExtra];
  }
  const conf = await findStorageConf(env, rootless, home);
  const driver = env.STORAGE_DRIVER || conf.driver;
  const confName = conf.path ?? 'default settings';
  const candidates: { root: string; source: string }[] = [];
  // Rootless podman ignores the system file's graphroot (it belongs to
  // root) but honours rootless_storage_path and a personal file's graphroot.
  const configured = rootless ? (conf.personal ? conf.graphroot : undefined) ?? conf.rootlessStoragePath : conf.graphroot;
  if (configured) candidates.push({ root: expand(configured, home), source: `graphroot in ${confName}` });
  const dataHome = env.XDG_DATA_HOME || join(home, '.local/share');
  candidates.push({ root: join(dataHome, 'containers/storage'), source: 'rootless default' });
  candidates.push({ root: '/var/lib/containers/storage', source: 'system default' });
  const stores: StoreLocation[] = [];
  for (const c of candidates) {
    if (await exists(c.root)) {
      stores.push({ root: resolve(c.root), configuredDriver: driver, additional: false, source: c.source });
      break;
    }
  }
  for (const dir of conf.additionalImageStores) {
    stores.push({ root: resolve(expand(dir, home)), configuredDriver: '', additional: true, source: `additionalimagestores in ${confName}` });
  }
  for (const dir of storageOptsImageStores(env.STORAGE_OPTS)) {
    stores.push({ root: resolve(dir), configuredDriver: '', additional: true, source: '$STORAGE_OPTS' });
  }
  stores.push(...explicitExtra);
  if (stores.length === 0) {
    const searched = candidates.map((c) => c.root).join(', ');
    throw new NotFoundError('containers-storage', `no store found (searched ${searched}); pass --storage-root DIR`);
  }
  return stores;
}
