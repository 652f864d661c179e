/**
 * The system containers-storage through the real podman, never by editing
 * its files: podman takes the store's locks and keeps its layers and
 * database consistent. Each call gets a storage.conf of its own naming
 * only this store (so a host's additionalimagestores or $STORAGE_OPTS
 * cannot add images that are not the system's), and a time limit: a store
 * another process holds locked makes podman wait, and a GC must say so
 * rather than hang.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'smol-toml';
import { CfskitError, InputError, UnsupportedError } from '../../common/index.js';

export interface PodmanOptions {
  /** The podman binary (default `podman` on $PATH). */
  readonly podman?: string;
  /** podman's runtime state for this store (default /run/bootc/storage, as bootc). */
  readonly runRoot: string;
  /** How long one podman call may take (default 120 s). */
  readonly timeoutMs?: number;
}

export interface PodmanImage {
  readonly id: string;
  readonly names: readonly string[];
  /** Manifest digests: `Digest` and those of `RepoDigests`. */
  readonly digests: readonly string[];
}

export interface RemoveResult {
  readonly removed: readonly string[];
  readonly failed: readonly { readonly id: string; readonly message: string }[];
}

/** podman takes this many images per `image rm` (bootc's SUBCMD_ARGV_CHUNKING). */
export const BATCH = 100;
const DEFAULT_TIMEOUT_MS = 120_000;
const KILL_GRACE_MS = 10_000;

interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export class SystemStore {
  constructor(
    readonly root: string,
    private readonly options: PodmanOptions,
  ) {}

  private get binary(): string {
    return this.options.podman ?? 'podman';
  }

  private async run(args: readonly string[]): Promise<Ran> {
    const confDir = await mkdtemp(join(tmpdir(), 'cfskit-podman-conf-'));
    try {
      const conf = join(confDir, 'storage.conf');
      await writeFile(conf, stringify({ storage: { driver: 'overlay', graphroot: this.root, runroot: this.options.runRoot } }));
      const env: NodeJS.ProcessEnv = { ...process.env, CONTAINERS_STORAGE_CONF: conf };
      delete env.STORAGE_OPTS;
      delete env.STORAGE_DRIVER;
      const argv = ['--root', this.root, '--runroot', this.options.runRoot, '--storage-driver', 'overlay', ...args];
      return await spawnBounded(this.binary, argv, env, this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS, this.root);
    } finally {
      await rm(confDir, { recursive: true, force: true });
    }
  }

  private failure(what: string, ran: Ran): CfskitError {
    const detail = ran.stderr.trim().split('\n').slice(-3).join('; ') || `exit status ${ran.status}`;
    return new CfskitError('system', `${this.root}: podman ${what} failed: ${detail}`);
  }

  /** Every image of the store (podman 4 lists an image once per name: merged by ID). */
  async listImages(): Promise<PodmanImage[]> {
    const ran = await this.run(['image', 'list', '--format', 'json', '--no-trunc']);
    if (ran.status !== 0) throw this.failure('image list', ran);
    let listed: unknown;
    try {
      listed = JSON.parse(ran.stdout || '[]');
    } catch {
      throw new InputError(`${this.root}: podman image list`, 'printed something that is not JSON');
    }
    if (!Array.isArray(listed)) throw new InputError(`${this.root}: podman image list`, 'did not print a JSON array');
    const byId = new Map<string, { names: Set<string>; digests: Set<string> }>();
    for (const item of listed as Record<string, unknown>[]) {
      const id = typeof item.Id === 'string' ? item.Id.replace(/^sha256:/, '') : undefined;
      if (id === undefined) continue;
      const entry = byId.get(id) ?? { names: new Set<string>(), digests: new Set<string>() };
      byId.set(id, entry);
      for (const n of strings(item.Names)) entry.names.add(n);
      if (typeof item.Digest === 'string' && item.Digest !== '') entry.digests.add(item.Digest);
      for (const rd of strings(item.RepoDigests)) {
        const at = rd.lastIndexOf('@');
        if (at >= 0) entry.digests.add(rd.slice(at + 1));
      }
    }
    return [...byId].map(([id, e]) => ({ id, names: [...e.names].sort(), digests: [...e.digests].sort() }));
  }

  /**
   * Removes images by ID, a batch per podman call; an image already gone
   * counts as removed. A batch podman refuses is retried one image at a
   * time, so one image in use does not keep the others.
   */
  async removeImages(ids: readonly string[]): Promise<RemoveResult> {
    const removed: string[] = [];
    const failed: { id: string; message: string }[] = [];
    for (let i = 0; i < ids.length; i += BATCH) {
      const batch = ids.slice(i, i + BATCH);
      const ran = await this.run(['image', 'rm', ...batch]);
      if (ran.status === 0) {
        removed.push(...batch);
        continue;
      }
      for (const id of batch) {
        const one = batch.length === 1 ? ran : await this.run(['image', 'rm', id]);
        if (one.status === 0 || /image not known/i.test(one.stderr)) removed.push(id);
        else failed.push({ id, message: this.failure(`image rm ${id}`, one).message });
      }
    }
    return { removed, failed };
  }
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

function spawnBounded(file: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number, root: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    let timedOut = false;
    let escalate: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      // A podman that does not stop on SIGTERM must not outlive the GC.
      escalate = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT') reject(new UnsupportedError(`${file} is not installed: the system containers-storage at ${root} can only be changed through podman (nothing was removed)`));
      else reject(new CfskitError('system', `${root}: running ${file}: ${e.message}`));
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      clearTimeout(escalate);
      if (timedOut) {
        reject(new CfskitError('system', `${root}: podman did not finish within ${Math.round(timeoutMs / 1000)} s; is the store locked by another process (a pull, a build)?`));
        return;
      }
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}
