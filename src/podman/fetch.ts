/**
 * Stage 1 of the unified pull: real podman fetches an image into one
 * store, so registries.conf, mirrors, policy.json, auth files and short
 * names behave exactly as for podman.
 *
 * `docker://` goes through a transient `podman system service` (as bootc
 * pulls): podman 5.9 and later through libpod's `/libpod/images/pull`
 * with `pullProgress=true` (bytes per blob); older podman through the
 * Docker-compatible `/images/create`, which reports every blob's start,
 * end or presence and, while a blob streams, its bytes about once a
 * second (libpod's endpoint of those versions names blobs only). Other
 * transports (`oci:`, `oci-archive:`, `docker-archive:`, `dir:`), and
 * `docker://` with `--cert-dir` (the API takes no certificate directory),
 * go through `podman pull` as a subprocess with the same store and
 * credentials; it reports per-blob steps.
 *
 * A failure is podman's own message, with the reference named.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthError, CfskitError, NotFoundError } from '../../common/index.js';
import { parseCompatReport, parseLibpodReport, parsePullLine, type BlobReport } from './reports.js';
import { writeInsecureRegistriesConf } from './registries-conf.js';
import { podmanMessage, runBounded, storeArgs, withStoreEnv, type StoreLocation } from './run.js';
import { PodmanService, readAll, type ApiVersion } from './service.js';

export const DOCKER_TRANSPORT = 'docker://';

/** How long one pull may take before podman is stopped (an hour: big images on slow links). */
export const PULL_TIMEOUT_MS = 3_600_000;

export interface FetchOptions {
  readonly podman?: string;
  /** `os/arch[/variant]`, for an index. */
  readonly platform?: string;
  readonly credentials?: { readonly username: string; readonly password: string };
  readonly authFile?: string;
  readonly tlsVerify?: boolean;
  readonly certDir?: string;
  readonly timeoutMs?: number;
  readonly onReport?: (report: BlobReport) => void;
  /** The transient service's pid once it runs (tests check it is gone afterwards). */
  readonly onService?: (pid: number | undefined) => void;
}

export type FetchMethod = 'libpod-api' | 'compat-api' | 'podman-pull';

export interface FetchResult {
  readonly method: FetchMethod;
  /** podman's version, when the service told it. */
  readonly podmanVersion: string | undefined;
  /** The image's ID as podman reported it (or a unique prefix of it). */
  readonly imageId: string | undefined;
}

/** True for the podman versions whose libpod pull reports bytes (5.9 and later). */
export function hasPullProgress(version: ApiVersion): boolean {
  return version.major > 5 || (version.major === 5 && version.minor >= 9);
}

/** The registry host of a `docker://` reference (its first component when that names a host). */
export function registryHost(name: string): string | undefined {
  const first = name.split('/')[0] ?? '';
  return name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : undefined;
}

/** A typed error with podman's message: credentials refused, no such image, or anything else. */
export function stageOneError(reference: string, message: string): CfskitError {
  const text = `${reference}: podman could not pull it: ${message}`;
  if (/unauthorized|authentication required|invalid username\/password|denied|401/i.test(message)) return new AuthError(reference, `podman could not pull it: ${message}`);
  if (/manifest unknown|name unknown|not found|no image found|does not exist|no matching manifest|choosing an image from manifest list/i.test(message)) {
    return new NotFoundError(reference, `podman could not pull it: ${message}`);
  }
  return new CfskitError('system', text);
}

function registryAuthHeader(credentials: FetchOptions['credentials']): Record<string, string> {
  if (!credentials) return {};
  const json = JSON.stringify({ username: credentials.username, password: credentials.password });
  // URL-safe base64 with its padding, as podman's decoder (Go's URLEncoding) wants it.
  return { 'X-Registry-Auth': Buffer.from(json).toString('base64').replace(/\+/g, '-').replace(/\//g, '_') };
}

/** Pulls `reference` into `store`; resolves once podman has stored it. */
export async function fetchIntoStore(store: StoreLocation, reference: string, options: FetchOptions = {}): Promise<FetchResult> {
  const viaApi = reference.startsWith(DOCKER_TRANSPORT) && options.certDir === undefined;
  if (!viaApi) return pullSubprocess(store, reference, options);
  const name = reference.slice(DOCKER_TRANSPORT.length);
  const confDir = await mkdtemp(join(tmpdir(), 'cfskit-podman-pull-'));
  try {
    const extra: NodeJS.ProcessEnv = {};
    const host = registryHost(name);
    if (options.tlsVerify === false && host !== undefined) extra.CONTAINERS_REGISTRIES_CONF = await writeInsecureRegistriesConf(confDir, host);
    if (options.authFile !== undefined) extra.REGISTRY_AUTH_FILE = options.authFile;
    return await withStoreEnv(store, extra, async (env) => {
      const service = await PodmanService.start(store, { env, ...(options.podman ? { podman: options.podman } : {}) });
      options.onService?.(service.pid);
      try {
        const version = await service.version();
        const method: FetchMethod = hasPullProgress(version) ? 'libpod-api' : 'compat-api';
        const imageId = await pullThroughApi(service, method, name, reference, options);
        return { method, podmanVersion: version.version || undefined, imageId };
      } finally {
        await service.stop();
      }
    });
  } finally {
    await rm(confDir, { recursive: true, force: true });
  }
}

async function pullThroughApi(service: PodmanService, method: FetchMethod, name: string, reference: string, options: FetchOptions): Promise<string | undefined> {
  const query = new URLSearchParams();
  let path: string;
  if (method === 'libpod-api') {
    query.set('reference', name);
    query.set('pullProgress', 'true');
    query.set('policy', 'always');
    if (options.tlsVerify === false) query.set('tlsVerify', 'false');
    const [os, arch, variant] = (options.platform ?? '').split('/');
    if (os) query.set('OS', os);
    if (arch) query.set('Arch', arch);
    if (variant) query.set('Variant', variant);
    path = `/v5.0.0/libpod/images/pull?${query}`;
  } else {
    query.set('fromImage', name);
    if (options.platform) query.set('platform', options.platform);
    path = `/v1.41/images/create?${query}`;
  }
  const parse = method === 'libpod-api' ? parseLibpodReport : parseCompatReport;
  const res = await service.request('POST', path, registryAuthHeader(options.credentials));
  if ((res.statusCode ?? 500) >= 300) {
    const body = await readAll(res, 64 << 10);
    let message = body.trim();
    try {
      const parsed = JSON.parse(body) as { message?: unknown; cause?: unknown };
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      // Not JSON: podman's text as it is.
    }
    throw stageOneError(reference, message || `HTTP ${res.statusCode}`);
  }
  let partial = '';
  let failure: string | undefined;
  let imageId: string | undefined;
  const deadline = setTimeout(() => res.destroy(new Error(`no answer within ${Math.round((options.timeoutMs ?? PULL_TIMEOUT_MS) / 1000)} s`)), options.timeoutMs ?? PULL_TIMEOUT_MS);
  const handle = (line: string): void => {
    if (line.trim() === '') return;
    for (const report of parse(line)) {
      if (report.kind === 'error') failure ??= report.message;
      if (report.kind === 'pulled') imageId = report.imageId;
      options.onReport?.(report);
    }
  };
  try {
    for await (const chunk of res) {
      const lines = (partial + (chunk as Buffer).toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      lines.forEach(handle);
    }
    handle(partial);
  } catch (err) {
    throw new CfskitError('system', `${reference}: the podman service stopped answering: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    clearTimeout(deadline);
  }
  if (failure !== undefined) throw stageOneError(reference, failure);
  return imageId;
}

async function pullSubprocess(store: StoreLocation, reference: string, options: FetchOptions): Promise<FetchResult> {
  const args = [...storeArgs(store), 'pull'];
  if (options.tlsVerify === false) args.push('--tls-verify=false');
  if (options.certDir !== undefined) args.push('--cert-dir', options.certDir);
  if (options.authFile !== undefined && !options.credentials) args.push('--authfile', options.authFile);
  if (options.platform !== undefined) args.push('--platform', options.platform);
  const credsDir = options.credentials ? await mkdtemp(join(tmpdir(), 'cfskit-podman-creds-')) : undefined;
  try {
    if (credsDir && options.credentials) {
      // Credentials go in a private auth file, not on a command line others can read.
      const file = join(credsDir, 'auth.json');
      const host = registryHost(reference.replace(/^docker:\/\//, '')) ?? 'docker.io';
      const auth = Buffer.from(`${options.credentials.username}:${options.credentials.password}`).toString('base64');
      await writeFile(file, JSON.stringify({ auths: { [host]: { auth } } }), { mode: 0o600 });
      args.push('--authfile', file);
    }
    args.push(reference);
    const ran = await withStoreEnv(store, {}, (env) =>
      runBounded(options.podman ?? 'podman', args, {
        env,
        subject: reference,
        timeoutMs: options.timeoutMs ?? PULL_TIMEOUT_MS,
        onStderrLine: (line) => parsePullLine(line).forEach((r) => r.kind !== 'error' && options.onReport?.(r)),
      }),
    );
    if (ran.status !== 0) throw stageOneError(reference, podmanMessage(ran));
    const id = ran.stdout.trim().split('\n').pop()?.trim().replace(/^sha256:/, '');
    return { method: 'podman-pull', podmanVersion: undefined, imageId: id && /^[0-9a-f]{12,64}$/.test(id) ? id : undefined };
  } finally {
    if (credsDir) await rm(credsDir, { recursive: true, force: true });
  }
}
