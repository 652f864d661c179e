/**
 * `--tls-verify=false` for a podman service: the API of podman 4 takes no
 * such option per pull (the Docker-compatible endpoint never did), so the
 * service gets a registries.conf of its own — the one podman would read
 * (`$CONTAINERS_REGISTRIES_CONF`, `~/.config/containers/registries.conf`
 * for a non-root user, `/etc/containers/registries.conf`), unchanged but
 * for the one registry marked `insecure = true`, as `podman pull
 * --tls-verify=false` treats it. Drop-ins in `registries.conf.d/` are read
 * by podman as before. Both formats are kept: a V1 file (`[registries.
 * insecure]`) gets the host in its list, a V2 file a `[[registry]]` entry.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'smol-toml';
import { InputError, systemError } from '../../common/index.js';

type Toml = Record<string, unknown>;

/** The registries.conf podman reads, or undefined when there is none. */
export async function readRegistriesConf(env: NodeJS.ProcessEnv = process.env): Promise<{ path: string; text: string } | undefined> {
  const candidates: string[] = [];
  if (env.CONTAINERS_REGISTRIES_CONF) candidates.push(env.CONTAINERS_REGISTRIES_CONF);
  else {
    if (process.getuid?.() !== 0) candidates.push(join(env.HOME ?? homedir(), '.config/containers/registries.conf'));
    candidates.push('/etc/containers/registries.conf');
  }
  for (const path of candidates) {
    try {
      return { path, text: await readFile(path, 'utf8') };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw systemError(err, path, 'open');
    }
  }
  return undefined;
}

/** `base` (a registries.conf's text) with `host` insecure. */
export function withInsecureRegistry(base: { path: string; text: string } | undefined, host: string): string {
  let conf: Toml = {};
  if (base) {
    try {
      conf = parse(base.text) as Toml;
    } catch (err) {
      throw new InputError(base.path, `is not valid TOML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  const v1 = conf.registries;
  if (typeof v1 === 'object' && v1 !== null && !Array.isArray(v1)) {
    const tables = v1 as Toml;
    const insecure = (typeof tables.insecure === 'object' && tables.insecure !== null ? tables.insecure : {}) as Toml;
    const list = Array.isArray(insecure.registries) ? (insecure.registries as unknown[]) : [];
    if (!list.includes(host)) insecure.registries = [...list, host];
    tables.insecure = insecure;
    return stringify(conf);
  }
  const entries = Array.isArray(conf.registry) ? (conf.registry as Toml[]) : [];
  const existing = entries.find((e) => e.location === host || (e.location === undefined && e.prefix === host));
  if (existing) existing.insecure = true;
  else entries.push({ location: host, insecure: true });
  conf.registry = entries;
  return stringify(conf);
}

/** Writes the registries.conf that makes `host` insecure into `dir`; returns its path. */
export async function writeInsecureRegistriesConf(dir: string, host: string): Promise<string> {
  const path = join(dir, 'registries.conf');
  await writeFile(path, withInsecureRegistry(await readRegistriesConf(), host));
  return path;
}
