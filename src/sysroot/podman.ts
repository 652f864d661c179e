/**
 * The system containers-storage through the real podman, never by editing
 * its files: podman takes the store's locks and keeps its layers and
 * database consistent. Each call gets a storage.conf of its own naming
 * only this store (so a host's additionalimagestores or $STORAGE_OPTS
 * cannot add images that are not the system's), and a time limit: a store
 * another process holds locked makes podman wait, and a GC must say so
 * rather than hang.
 */
import { CfskitError, InputError, UnsupportedError } from '../../common/index.js';
import { runBounded, storeArgs, withStoreEnv, type Ran } from '../podman/index.js';

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

export class SystemStore {
  constructor(
    readonly root: string,
    private readonly options: PodmanOptions,
  ) {}

  private get binary(): string {
    return this.options.podman ?? 'podman';
  }

  private async run(args: readonly string[]): Promise<Ran> {
    const store = { root: this.root, runRoot: this.options.runRoot };
    return withStoreEnv(store, {}, async (env) => {
      try {
        return await runBounded(this.binary, [...storeArgs(store), ...args], { env, timeoutMs: this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS, subject: this.root });
      } catch (err) {
        if (err instanceof UnsupportedError) {
          throw new UnsupportedError(`${this.binary} is not installed: the system containers-storage at ${this.root} can only be changed through podman (nothing was removed)`);
        }
        throw err;
      }
    });
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
