/**
 * Registry credentials as podman and skopeo find them (containers-auth.json(5)):
 * `--authfile` or `$REGISTRY_AUTH_FILE` if given (and then only that),
 * else `${XDG_RUNTIME_DIR}/containers/auth.json` (root without it:
 * `/run/containers/0/auth.json`),
 * `${XDG_CONFIG_HOME:-~/.config}/containers/auth.json`,
 * `${DOCKER_CONFIG:-~/.docker}/config.json`, and the legacy `~/.dockercfg`.
 * In each file the most specific key wins (`host/ns/repo`, then `host/ns`,
 * then `host`); the first file with a match decides. `credHelpers` and
 * `credsStore` name `docker-credential-<helper>` programs to ask.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InputError, systemError } from '../../common/index.js';
import { credentialsFromHelper } from './cred-helper.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
  /** Where they came from, for messages (`--creds`, a file's path). */
  readonly source: string;
}

export interface AuthFileOptions {
  /** `--authfile`; default `$REGISTRY_AUTH_FILE`. */
  readonly authFile?: string;
  /** Defaults to process.env (tests pass their own). */
  readonly env?: NodeJS.ProcessEnv;
}

interface AuthPath {
  readonly path: string;
  /** ~/.dockercfg: the `auths` object's content at the top level. */
  readonly legacy: boolean;
}

const MAX_AUTH_FILE = 1 << 20;

export function authFilePaths(options: AuthFileOptions = {}): AuthPath[] {
  const env = options.env ?? process.env;
  const given = options.authFile ?? env.REGISTRY_AUTH_FILE;
  if (given !== undefined && given !== '') return [{ path: given, legacy: false }];
  const home = env.HOME ?? homedir();
  const paths: AuthPath[] = [];
  const uid = process.getuid?.() ?? 0;
  const runtime = env.XDG_RUNTIME_DIR
    ? join(env.XDG_RUNTIME_DIR, 'containers/auth.json')
    : uid === 0
      ? '/run/containers/0/auth.json'
      : `/run/user/${uid}/containers/auth.json`;
  paths.push({ path: runtime, legacy: false });
  paths.push({ path: join(env.XDG_CONFIG_HOME ?? join(home, '.config'), 'containers/auth.json'), legacy: false });
  paths.push({ path: join(env.DOCKER_CONFIG ?? join(home, '.docker'), 'config.json'), legacy: false });
  paths.push({ path: join(home, '.dockercfg'), legacy: true });
  return paths;
}

/** The keys to try for `registry`/`repository`, most specific first. */
export function lookupKeys(registry: string, repository: string): string[] {
  const parts = repository.split('/');
  const keys: string[] = [];
  for (let n = parts.length; n >= 1; n--) keys.push(`${registry}/${parts.slice(0, n).join('/')}`);
  keys.push(registry);
  return keys;
}

/** An auth-file key as containers/image normalises it (scheme and path dropped for plain hosts). */
function normalizeKey(key: string): string {
  let k = key;
  const scheme = /^https?:\/\//.exec(k);
  if (scheme) {
    // Docker's legacy keys (`https://index.docker.io/v1/`) name only a host.
    k = k.slice(scheme[0].length).split('/')[0] ?? '';
  }
  return k === 'index.docker.io' || k === 'registry-1.docker.io' ? 'docker.io' : k;
}

function decodeAuth(value: unknown, source: string, key: string): Credentials | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const entry = value as Record<string, unknown>;
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new InputError(source, `the "auth" of ${key} is not base64 of user:password`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1), source };
  }
  if (typeof entry.username === 'string' && typeof entry.password === 'string') {
    return { username: entry.username, password: entry.password, source };
  }
  return undefined;
}

async function readAuthFile(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.length > MAX_AUTH_FILE) throw new InputError(path, `is ${bytes.length} bytes, more than an auth file may be`);
    text = bytes.toString('utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw systemError(err, path);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InputError(path, `invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InputError(path, 'is not a JSON object');
  return doc as Record<string, unknown>;
}

function objectField(doc: Record<string, unknown>, name: string): Record<string, unknown> {
  const v = doc[name];
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** The credentials for `registry`/`repository`, or undefined for an anonymous pull. */
export async function findCredentials(registry: string, repository: string, options: AuthFileOptions = {}): Promise<Credentials | undefined> {
  const keys = lookupKeys(registry, repository);
  for (const { path, legacy } of authFilePaths(options)) {
    const doc = await readAuthFile(path);
    if (!doc) continue;
    const auths = legacy ? doc : objectField(doc, 'auths');
    const byKey = new Map<string, unknown>();
    for (const [key, value] of Object.entries(auths)) {
      const normal = normalizeKey(key);
      // The exact spelling wins over a normalised legacy one.
      if (!byKey.has(normal) || key === normal) byKey.set(normal, value);
    }
    const helpers = objectField(doc, 'credHelpers');
    for (const key of keys) {
      const helper = helpers[key];
      if (typeof helper === 'string') {
        const found = await credentialsFromHelper(helper, key);
        if (found) return found;
      }
      const creds = decodeAuth(byKey.get(key), path, key);
      if (creds) return creds;
    }
    if (typeof doc.credsStore === 'string' && doc.credsStore !== '') {
      const found = await credentialsFromHelper(doc.credsStore, registry);
      if (found) return found;
    }
  }
  return undefined;
}

/** `--creds USER[:PASSWORD]`. */
export function parseCreds(text: string): Credentials {
  const colon = text.indexOf(':');
  const username = colon < 0 ? text : text.slice(0, colon);
  if (username === '') throw new InputError('--creds', 'the user name is empty');
  return { username, password: colon < 0 ? '' : text.slice(colon + 1), source: '--creds' };
}
