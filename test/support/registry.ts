/**
 * Real registries for tests: Debian's `docker-registry` on 127.0.0.1, on a
 * free port, with its own storage directory, started by the test and
 * stopped afterwards however it ends (an exit hook kills it if the test
 * process itself goes away first). Variants:
 *
 *   const reg = await startRegistry();                       // anonymous, plain HTTP
 *   const reg = await startRegistry({ auth: 'htpasswd' });   // basic auth (apache2-utils' htpasswd)
 *   const reg = await startRegistry({ auth: 'token' });      // bearer tokens from a token server here
 *   const reg = await startRegistry({ tls: true });          // HTTPS, a self-signed certificate made here
 *   try { await reg.push('oci:/layout', 'app:1'); … } finally { await reg.stop(); }
 *
 * `reg.pullArgs` are the cfskit/skopeo-style flags a client needs
 * (`--tls-verify=false`, `--cert-dir`, `--creds`). The registry's access log
 * (`accessLog()`) tells which blobs were fetched. `startBlobProxy` puts a
 * proxy in front that corrupts one byte of, or cuts short, chosen blobs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSign, randomUUID, X509Certificate } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, get as httpGet, request, type IncomingMessage, type Server } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from './cli.js';
import { haveTool } from './prereq.js';

export const REGISTRY_USER = { username: 'cfskit', password: 'registry-secret' };

export interface RegistryOptions {
  readonly auth?: 'none' | 'htpasswd' | 'token';
  /** Serve HTTPS with a self-signed certificate (its CA in `certDir`). */
  readonly tls?: boolean;
}

export interface TestRegistry {
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  readonly dir: string;
  /** With tls: a certs.d-style directory holding the CA (`ca.crt`). */
  readonly certDir: string | undefined;
  readonly credentials: { readonly username: string; readonly password: string } | undefined;
  /** Flags for `cfskit oci pull` (and skopeo's --src-… equivalents via `skopeoArgs`). */
  readonly pullArgs: readonly string[];
  skopeoArgs(side: 'src' | 'dest'): string[];
  /** `docker://HOST/NAME`. */
  ref(name: string): string;
  /** `skopeo copy SOURCE docker://HOST/NAME` (extra flags before the names). */
  push(source: string, name: string, extra?: readonly string[]): Promise<void>;
  /** The access log's request lines so far (`GET /v2/…/blobs/sha256:… 200`). */
  accessLog(): Promise<string[]>;
  stop(): Promise<void>;
}

/** Why a registry cannot be run here, for `gated(test, ...)`. */
export function registryPrereqs(options: RegistryOptions = {}): (string | undefined)[] {
  return [
    haveTool('docker-registry', ['--version']),
    haveTool('skopeo'),
    options.auth === 'htpasswd' ? haveTool('htpasswd', ['-h']) : undefined,
    options.tls || options.auth === 'token' ? haveTool('openssl', ['version']) : undefined,
  ].map((why) => (why ? why.replace('run npm run setup as root', 'run npm run setup as root: docker-registry, apache2-utils') : why));
}

const live = new Set<ChildProcess>();
let hooked = false;
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function check(cmd: string, args: readonly string[], options: Parameters<typeof run>[2] = {}): Promise<void> {
  const r = await run(cmd, args, options);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
}

/** A self-signed certificate for 127.0.0.1 (also fine as a JWT signing cert). */
async function makeCertificate(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await check('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ]);
  return { cert, key };
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/**
 * A token server as the registry's `auth.token` realm expects: Basic
 * credentials in, a JWT (RS256, its certificate in `x5c`) granting the
 * scopes asked for out; anonymous callers get a token granting nothing,
 * wrong credentials a 401.
 */
async function startTokenServer(signing: { cert: string; key: string }, service: string, issuer: string): Promise<{ server: Server; realm: string }> {
  const key = readFileSync(signing.key, 'utf8');
  const der = new X509Certificate(readFileSync(signing.cert)).raw;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const auth = req.headers.authorization;
    let user: string | undefined;
    if (auth?.startsWith('Basic ')) {
      const [u, p] = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
      if (u !== REGISTRY_USER.username || p !== REGISTRY_USER.password) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"wrong credentials"}');
        return;
      }
      user = u;
    }
    const access = url.searchParams.getAll('scope').flatMap((scope) => {
      const [type, name, actions] = scope.split(':');
      return user && type && name ? [{ type, name, actions: (actions ?? '').split(',') }] : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [der.toString('base64')] };
    const claims = { iss: issuer, sub: user ?? '', aud: service, exp: now + 600, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const body = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = createSign('RSA-SHA256').update(body).sign(key);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: `${body}.${b64url(signature)}`, expires_in: 600 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, realm: `http://127.0.0.1:${port}/token` };
}

function statusOf(url: string): Promise<number> {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet;
    const req = get(url, { rejectUnauthorized: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
  });
}

async function waitUntilUp(child: ChildProcess, url: string, log: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    const status = await statusOf(url);
    if (status === 200 || status === 401) return;
    await sleep(100);
  }
  const text = await readFile(log, 'utf8').catch(() => '');
  throw new Error(`docker-registry did not come up at ${url}: ${text.slice(-2000)}`);
}

export async function startRegistry(options: RegistryOptions = {}): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'cfskit-registry-'));
  const cleanups: (() => Promise<void>)[] = [() => rm(dir, { recursive: true, force: true })];
  const stop = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  };
  try {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const tls = options.tls === true;
    const auth = options.auth ?? 'none';
    const lines = [
      'version: 0.1',
      'log:', '  level: info', '  accesslog:', '    disabled: false',
      'storage:', '  filesystem:', `    rootdirectory: ${join(dir, 'data')}`, '  delete:', '    enabled: true',
      'http:', `  addr: ${host}`,
    ];
    let certDir: string | undefined;
    if (tls) {
      const { cert, key } = await makeCertificate(dir, 'server');
      lines.push('  tls:', `    certificate: ${cert}`, `    key: ${key}`);
      certDir = join(dir, 'certs.d');
      await mkdir(certDir);
      await writeFile(join(certDir, 'ca.crt'), await readFile(cert));
    }
    if (auth === 'htpasswd') {
      const file = join(dir, 'htpasswd');
      await check('htpasswd', ['-Bbc', file, REGISTRY_USER.username, REGISTRY_USER.password]);
      lines.push('auth:', '  htpasswd:', '    realm: cfskit-test', `    path: ${file}`);
    } else if (auth === 'token') {
      const signing = await makeCertificate(dir, 'token');
      const token = await startTokenServer(signing, 'cfskit-registry', 'cfskit-token-issuer');
      cleanups.push(() => new Promise((resolve) => token.server.close(() => resolve())));
      lines.push('auth:', '  token:', `    realm: ${token.realm}`, '    service: cfskit-registry', '    issuer: cfskit-token-issuer', `    rootcertbundle: ${signing.cert}`);
    }
    const config = join(dir, 'config.yml');
    await writeFile(config, `${lines.join('\n')}\n`);
    const log = join(dir, 'registry.log');
    const fd = openSync(log, 'a');
    const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    live.add(child);
    hookExit();
    cleanups.push(async () => {
      live.delete(child);
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      if ((await Promise.race([exited, sleep(3000, 'timeout')])) === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    });
    await waitUntilUp(child, `${tls ? 'https' : 'http'}://${host}/v2/`, log);

    const credentials = auth === 'none' ? undefined : REGISTRY_USER;
    const creds = credentials ? `${credentials.username}:${credentials.password}` : undefined;
    const skopeoArgs = (side: 'src' | 'dest'): string[] => [
      ...(tls ? [`--${side}-cert-dir`, certDir ?? ''] : [`--${side}-tls-verify=false`]),
      ...(creds ? [`--${side}-creds`, creds] : []),
    ];
    return {
      host,
      dir,
      certDir,
      credentials,
      pullArgs: [...(tls ? ['--cert-dir', certDir ?? ''] : ['--tls-verify=false']), ...(creds ? ['--creds', creds] : [])],
      skopeoArgs,
      ref: (name) => `docker://${host}/${name}`,
      async push(source, name, extra = []) {
        await check('skopeo', ['copy', '--quiet', ...skopeoArgs('dest'), ...extra, source, `docker://${host}/${name}`], { env: { ...process.env, TMPDIR: dir } });
      },
      async accessLog() {
        const text = await readFile(log, 'utf8');
        return text
          .split('\n')
          .map((line) => /"(GET|HEAD|PUT|POST|PATCH|DELETE) (\S+) HTTP\/[\d.]+" (\d+)/.exec(line))
          .filter((m): m is RegExpExecArray => m !== null)
          .map((m) => `${m[1]} ${m[2]} ${m[3]}`);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A registry for the length of `body`, stopped afterwards even on failure. */
export async function withRegistry<T>(options: RegistryOptions, body: (registry: TestRegistry) => Promise<T>): Promise<T> {
  const registry = await startRegistry(options);
  try {
    return await body(registry);
  } finally {
    await registry.stop();
  }
}

export interface BlobProxyOptions {
  /** Blobs (digests) to flip one byte of, in the middle. */
  readonly corrupt?: readonly string[];
  /** Blobs to cut off after half the bytes of every response (the connection is then closed). */
  readonly truncate?: readonly string[];
}

export interface BlobProxy {
  readonly host: string;
  /** Requests for the damaged blobs it served. */
  readonly hits: Map<string, number>;
  stop(): Promise<void>;
}

/** A plain-HTTP proxy in front of `upstream` (a plain registry) that damages chosen blobs. */
export async function startBlobProxy(upstream: string, options: BlobProxyOptions): Promise<BlobProxy> {
  const [upHost, upPort] = upstream.split(':');
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    const digest = /\/blobs\/(sha\d+:[0-9a-f]+)$/.exec(path)?.[1];
    const mode = digest === undefined ? undefined : options.corrupt?.includes(digest) ? 'corrupt' : options.truncate?.includes(digest) ? 'truncate' : undefined;
    if (mode && digest) hits.set(digest, (hits.get(digest) ?? 0) + 1);
    const headers = { ...req.headers, host: upstream };
    const up = request({ host: upHost, port: Number(upPort), method: req.method, path, headers }, (upRes: IncomingMessage) => {
      const status = upRes.statusCode ?? 502;
      // A resumed request (206) is cut short too: the blob never arrives whole.
      if (!mode || (status !== 200 && status !== 206)) {
        res.writeHead(status, upRes.headers);
        upRes.pipe(res);
        return;
      }
      const length = Number(upRes.headers['content-length'] ?? 0);
      let seen = 0;
      res.writeHead(status, upRes.headers);
      upRes.on('data', (chunk: Buffer) => {
        let piece = Buffer.from(chunk);
        const middle = Math.floor(length / 2);
        if (mode === 'corrupt' && seen <= middle && middle < seen + piece.length) piece[middle - seen] = (piece[middle - seen] ?? 0) ^ 0x01;
        if (mode === 'truncate' && seen + piece.length > middle) {
          const rest = piece.subarray(0, middle - seen);
          seen = length;
          upRes.destroy();
          res.write(rest, () => res.destroy());
          return;
        }
        if (seen >= length) return;
        seen += piece.length;
        res.write(piece);
      });
      upRes.on('end', () => res.end());
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    hits,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Pids of docker-registry processes (for tests that check none was left running). */
export function registryProcesses(): number[] {
  const r = spawnSync('pgrep', ['-x', 'docker-registry'], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number);
}
