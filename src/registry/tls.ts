/**
 * TLS for a registry as containers/image sets it up: the system's roots
 * plus the CA certificates (`*.crt`) of its certs.d directory, and a
 * client certificate (`*.cert` with the `*.key` of the same name) if one
 * is there. `--cert-dir D` names the directory; otherwise
 * `/etc/containers/certs.d/HOST[:PORT]`, `/etc/docker/certs.d/HOST[:PORT]`
 * and `${XDG_CONFIG_HOME:-~/.config}/containers/certs.d/HOST[:PORT]` are
 * read. `--tls-verify=false` accepts any certificate (and allows plain
 * HTTP).
 */
import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { InputError, systemError } from '../../common/index.js';

export interface TlsSettings {
  /** false: `--tls-verify=false`. */
  readonly verify: boolean;
  /** `--cert-dir`. */
  readonly certDir?: string;
}

export interface TlsOptions {
  readonly rejectUnauthorized: boolean;
  readonly ca?: string[];
  readonly cert?: string;
  readonly key?: string;
}

function certDirs(host: string, settings: TlsSettings): string[] {
  if (settings.certDir !== undefined) return [settings.certDir];
  const config = process.env.XDG_CONFIG_HOME ?? join(process.env.HOME ?? homedir(), '.config');
  return [join('/etc/containers/certs.d', host), join('/etc/docker/certs.d', host), join(config, 'containers/certs.d', host)];
}

async function listDir(dir: string, explicit: boolean): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!explicit && (code === 'ENOENT' || code === 'ENOTDIR')) return [];
    throw systemError(err, dir);
  }
}

/** The TLS options for talking to `host` (`name[:port]`). */
export async function tlsOptionsFor(host: string, settings: TlsSettings): Promise<TlsOptions> {
  const extraCa: string[] = [];
  let cert: string | undefined;
  let key: string | undefined;
  for (const dir of certDirs(host, settings)) {
    const names = await listDir(dir, settings.certDir !== undefined);
    for (const name of names) {
      const path = join(dir, name);
      if (name.endsWith('.crt')) {
        extraCa.push(await readFile(path, 'utf8').catch((err: unknown) => Promise.reject(systemError(err, path))));
      } else if (name.endsWith('.cert')) {
        const keyName = `${name.slice(0, -'.cert'.length)}.key`;
        if (!names.includes(keyName)) throw new InputError(path, `client certificate without its key ${keyName}`);
        cert = await readFile(path, 'utf8');
        key = await readFile(join(dir, keyName), 'utf8');
      } else if (name.endsWith('.key')) {
        const certName = `${name.slice(0, -'.key'.length)}.cert`;
        if (!names.includes(certName)) throw new InputError(path, `client key without its certificate ${certName}`);
      }
    }
  }
  return {
    rejectUnauthorized: settings.verify,
    ...(extraCa.length > 0 ? { ca: [...rootCertificates, ...extraCa] } : {}),
    ...(cert !== undefined && key !== undefined ? { cert, key } : {}),
  };
}
