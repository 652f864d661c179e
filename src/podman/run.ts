/**
 * Running podman (or skopeo) on one containers-storage store: the argv and
 * environment that point it at that store and nothing else, and a bounded
 * run of it. Each run gets a storage.conf of its own naming only this
 * store (so a host's additionalimagestores or $STORAGE_OPTS cannot add
 * images that are not the store's), and a time limit: a store another
 * process holds locked makes podman wait, and a caller must say so rather
 * than hang. The child is killed if cfskit itself exits first.
 *
 * The storage.conf also keeps the store's `overlay/` from being made a
 * mount of its own (`skip_mount_home`), so that its files can be
 * hardlinked into a repository on the same file system.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'smol-toml';
import { CfskitError, UnsupportedError } from '../../common/index.js';

export interface StoreLocation {
  /** The store's root (graphroot, `--root`). */
  readonly root: string;
  /** podman's runtime state for it (runroot, `--runroot`). */
  readonly runRoot: string;
}

export interface Ran {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export const DEFAULT_TIMEOUT_MS = 120_000;
const KILL_GRACE_MS = 10_000;

const live = new Set<ChildProcess>();
let hooked = false;

/** A child that must not outlive cfskit: killed on exit, however cfskit ends. */
export function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (hooked) return;
  hooked = true;
  process.once('exit', () => {
    for (const c of live) c.kill('SIGKILL');
  });
}

/** Keeps containers-storage from making the store's `overlay/` a mount of its own. */
export const SKIP_MOUNT_HOME = 'overlay.skip_mount_home=true';

/**
 * `--root`, `--runroot`, the overlay driver and SKIP_MOUNT_HOME, podman's
 * global options for the store (`podman system service` was seen to
 * mount the home with the option only in storage.conf).
 */
export function storeArgs(store: StoreLocation): string[] {
  return ['--root', store.root, '--runroot', store.runRoot, '--storage-driver', 'overlay', '--storage-opt', SKIP_MOUNT_HOME];
}

/** `containers-storage:[overlay@ROOT+RUNROOT:OPTIONS]`, the store as skopeo names it. */
export function storeTransport(store: StoreLocation): string {
  return `containers-storage:[overlay@${store.root}+${store.runRoot}:${SKIP_MOUNT_HOME}]`;
}

/**
 * Runs `body` with an environment naming only `store`: a private
 * storage.conf, no $STORAGE_OPTS or $STORAGE_DRIVER; `extra` is added.
 */
export async function withStoreEnv<T>(store: StoreLocation, extra: NodeJS.ProcessEnv, body: (env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  const confDir = await mkdtemp(join(tmpdir(), 'cfskit-podman-conf-'));
  try {
    const conf = join(confDir, 'storage.conf');
    // skip_mount_home: containers-storage otherwise bind-mounts the store's
    // overlay/ on itself, and no hardlink crosses a mount point — stage 2
    // would have to copy what it could link.
    const storage = { driver: 'overlay', graphroot: store.root, runroot: store.runRoot, options: { overlay: { skip_mount_home: 'true' } } };
    await writeFile(conf, stringify({ storage }));
    const env: NodeJS.ProcessEnv = { ...process.env, ...extra, CONTAINERS_STORAGE_CONF: conf };
    delete env.STORAGE_OPTS;
    delete env.STORAGE_DRIVER;
    return await body(env);
  } finally {
    await rm(confDir, { recursive: true, force: true });
  }
}

export interface RunOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  /** What the run is about, for messages (the store, the reference). */
  readonly subject: string;
  /** Called with each line podman writes to stderr, as it comes. */
  readonly onStderrLine?: (line: string) => void;
}

/** The error for a binary that is not there. */
export function missingBinary(file: string, subject: string): UnsupportedError {
  return new UnsupportedError(`${subject}: ${file} is not installed (not found on $PATH); containers-storage is only written through podman and skopeo`);
}

/** Runs `file` to its end or its time limit; resolves to its status and output. */
export function runBounded(file: string, args: readonly string[], options: RunOptions): Promise<Ran> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    track(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let partial = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => {
      err.push(c);
      if (!options.onStderrLine) return;
      const lines = (partial + c.toString('utf8')).split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const line of lines) if (line !== '') options.onStderrLine(line);
    });
    let timedOut = false;
    let escalate: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      escalate = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    }, timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (e.code === 'ENOENT') reject(missingBinary(file, options.subject));
      else reject(new CfskitError('system', `${options.subject}: running ${file}: ${e.message}`));
    });
    child.on('close', (status) => {
      clearTimeout(timer);
      clearTimeout(escalate);
      if (partial !== '') options.onStderrLine?.(partial);
      if (timedOut) {
        reject(new CfskitError('system', `${options.subject}: ${file} did not finish within ${Math.round(timeoutMs / 1000)} s; is the store locked by another process (a pull, a build)?`));
        return;
      }
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** podman's own words for a failure: the last lines it wrote, `Error: ` dropped. */
export function podmanMessage(ran: Ran): string {
  const lines = ran.stderr.trim().split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const errors = lines.filter((l) => /^(Error|error):/.test(l));
  const chosen = errors.length > 0 ? errors.slice(-2) : lines.slice(-3);
  return chosen.map((l) => l.replace(/^(Error|error): /, '')).join('; ') || `exit status ${ran.status}`;
}
