/**
 * A transient `podman system service` against one store, on a socket in a
 * private directory (mode 0700) made for it, as bootc's podman_client.rs
 * runs one: `--time=0` so it never exits on its own while cfskit talks to
 * it, and stopped by cfskit when the work is done — SIGTERM, then SIGKILL
 * after a grace period — on failure too, and killed if cfskit exits
 * first. It is never left running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { stat, mkdtemp, rm } from 'node:fs/promises';
import { request, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CfskitError } from '../../common/index.js';
import { missingBinary, storeArgs, track, type StoreLocation } from './run.js';

/** How long the service may take to open its socket (bootc waits 90 s). */
export const SERVICE_START_MS = 90_000;
const STOP_GRACE_MS = 5_000;
const POLL_MS = 50;

export interface ServiceOptions {
  readonly podman?: string;
  /** The service's environment (the store's, see withStoreEnv). */
  readonly env: NodeJS.ProcessEnv;
  readonly startTimeoutMs?: number;
}

export interface ApiVersion {
  /** podman's version, `4.3.1`. */
  readonly version: string;
  readonly major: number;
  readonly minor: number;
}

export class PodmanService {
  readonly #child: ChildProcess;
  readonly #dir: string;
  readonly socket: string;
  readonly #stderr: Buffer[];
  readonly #exited: Promise<unknown>;
  #stopped: Promise<void> | undefined;

  private constructor(child: ChildProcess, dir: string, socket: string, stderr: Buffer[]) {
    this.#child = child;
    this.#exited = new Promise((resolve) => {
      child.once('exit', resolve);
      child.once('error', resolve);
    });
    this.#dir = dir;
    this.socket = socket;
    this.#stderr = stderr;
  }

  /** Starts the service on `store` and waits until its socket answers. */
  static async start(store: StoreLocation, options: ServiceOptions): Promise<PodmanService> {
    const binary = options.podman ?? 'podman';
    const dir = await mkdtemp(join(tmpdir(), 'cfskit-podman-api-'));
    const socket = join(dir, 'podman.sock');
    const stderr: Buffer[] = [];
    const child = spawn(binary, [...storeArgs(store), 'system', 'service', '--time=0', `unix://${socket}`], {
      env: options.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    track(child);
    child.stderr?.on('data', (c: Buffer) => {
      // Enough to explain an early exit; a long pull must not grow this.
      if (stderr.reduce((n, b) => n + b.length, 0) < 64 << 10) stderr.push(c);
    });
    const service = new PodmanService(child, dir, socket, stderr);
    try {
      await service.#waitForSocket(binary, store, options.startTimeoutMs ?? SERVICE_START_MS);
      return service;
    } catch (err) {
      await service.stop();
      throw err;
    }
  }

  async #waitForSocket(binary: string, store: StoreLocation, timeoutMs: number): Promise<void> {
    let spawnError: NodeJS.ErrnoException | undefined;
    this.#child.once('error', (e: NodeJS.ErrnoException) => {
      spawnError = e;
    });
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if (spawnError) {
        if (spawnError.code === 'ENOENT') throw missingBinary(binary, store.root);
        throw new CfskitError('system', `${store.root}: running ${binary} system service: ${spawnError.message}`);
      }
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) {
        throw new CfskitError('system', `${store.root}: podman system service exited at once: ${this.#stderrText() || `status ${this.#child.exitCode}`}`);
      }
      if (await isSocket(this.socket)) return;
      await sleep(POLL_MS);
    }
    throw new CfskitError('system', `${store.root}: podman system service opened no socket within ${Math.round(timeoutMs / 1000)} s`);
  }

  #stderrText(): string {
    const text = Buffer.concat(this.#stderr).toString('utf8').trim().split('\n');
    return text
      .filter((l) => l.trim() !== '')
      .slice(-3)
      .map((l) => l.replace(/^(time="[^"]*" )?level=\w+ msg="?/, '').replace(/"$/, '').replace(/^Error: /, ''))
      .join('; ');
  }

  /** The pid of the service process (for tests that check none is left). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** A request to the API; resolves to the response, its body unread. */
  request(method: string, path: string, headers: OutgoingHttpHeaders = {}): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.socket, method, path, headers: { host: 'd', ...headers } }, resolve);
      req.on('error', (e) => reject(new CfskitError('system', `podman API ${path.split('?')[0]}: ${e.message}`)));
      req.end();
    });
  }

  /** podman's version, from `/libpod/version`. */
  async version(): Promise<ApiVersion> {
    const res = await this.request('GET', '/v4.0.0/libpod/version');
    const body = await readAll(res, 1 << 20);
    let version = '';
    try {
      const parsed = JSON.parse(body) as { Version?: unknown; Components?: { Name?: unknown; Version?: unknown }[] };
      const engine = parsed.Components?.find((c) => c.Name === 'Podman Engine');
      version = String(engine?.Version ?? parsed.Version ?? '');
    } catch {
      // An unreadable answer is an old or odd podman: the oldest protocol then.
    }
    const [major, minor] = version.split('.').map((n) => Number.parseInt(n, 10));
    return { version, major: Number.isFinite(major) ? (major ?? 0) : 0, minor: Number.isFinite(minor) ? (minor ?? 0) : 0 };
  }

  /** Stops the service (idempotent); resolves once it has exited and its socket directory is gone. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      const child = this.#child;
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
        child.kill('SIGTERM');
        if ((await Promise.race([this.#exited, sleep(STOP_GRACE_MS, 'timeout')])) === 'timeout') {
          child.kill('SIGKILL');
          await this.#exited;
        }
      }
      await rm(this.#dir, { recursive: true, force: true });
    })();
    return this.#stopped;
  }
}

async function isSocket(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isSocket();
  } catch {
    return false;
  }
}

/** A response body as text, at most `limit` bytes. */
export async function readAll(res: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limit) {
      res.destroy();
      break;
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Runs `body` with a service on `store`, stopping it however body ends. */
export async function withPodmanService<T>(store: StoreLocation, options: ServiceOptions, body: (service: PodmanService) => Promise<T>): Promise<T> {
  const service = await PodmanService.start(store, options);
  try {
    return await body(service);
  } finally {
    await service.stop();
  }
}
