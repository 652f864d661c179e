/**
 * Garbage collection of a composefs repository with composefs-rs's
 * semantics (`Repository::gc`): the roots are every ref under
 * `streams/refs/` and `images/refs/` plus names the caller adds (looked up
 * as streams and as images); everything reachable from them stays, every
 * other object goes, then the links left pointing at nothing. Beyond
 * composefs-rs, images mounted right now are roots too.
 *
 * Locking as cfsctl locks: the collection itself holds the exclusive
 * lock (waiting for imports, mounts and readers that hold the shared one,
 * which then wait for it), a dry run only the shared one.
 */
import { realpath } from 'node:fs/promises';
import { UnsupportedError, UsageError } from '../../common/index.js';
import { listEntries, listRefs, unusableRef, type Category, type LinkState } from './links.js';
import { mountedImages, type MountedImage } from './mounted.js';
import { findReachable, type MissingObject, type Root } from './reachable.js';
import { sweep } from './sweep.js';
import type { ObjectId, Repository } from '../repository/index.js';

export interface GcOptions {
  /** Count what would go, remove nothing (shared lock only). */
  readonly dryRun?: boolean;
  /** More roots: stream content IDs or image IDs (cfsctl `--root`). */
  readonly roots?: readonly string[];
  /** Keep images mounted right now (default true). */
  readonly keepMounted?: boolean;
  /** Wait for other users of the repository to finish (default true); else fail at once. */
  readonly wait?: boolean;
  readonly progress?: GcProgress;
  /**
   * Stream refs (below streams/refs/) not to count as roots, as if already
   * removed: how a dry run of a larger operation that removes them (the
   * sysroot GC dropping dead deployments' tags) reports what it would do.
   */
  readonly ignoreRefs?: readonly string[];
}

export interface GcProgress {
  (stage: 'walking' | 'objects', done: number, total: number): void;
}

/** cfsctl's GcResult (objects_removed, objects_bytes, images_pruned, streams_pruned), and more. */
export interface GcResult {
  readonly dryRun: boolean;
  /** Unreachable objects removed (or that would be). */
  readonly objectsRemoved: number;
  /** Their total size in bytes. */
  readonly objectsBytes: number;
  /** Links removed from images/ (entries and refs). */
  readonly imagesPruned: number;
  /** Links removed from streams/. */
  readonly streamsPruned: number;
  /** Images kept because they are mounted, with where each was seen. */
  readonly mounted: readonly MountedImage[];
  /** Objects that named refs point at but the repository lacks (fsck reports them too). */
  readonly missing: readonly MissingObject[];
  /** Temporary files of killed writers removed. */
  readonly tempFilesRemoved: number;
}

/** Set by `cfskit transaction` for its command: the repository it holds shared. */
export const TRANSACTION_ENV = 'CFSKIT_TRANSACTION';

async function refuseInsideTransaction(repo: Repository): Promise<void> {
  const held = process.env[TRANSACTION_ENV];
  if (held === undefined || held === '') return;
  const [mine, theirs] = await Promise.all([realpath(repo.path), realpath(held).catch(() => held)]);
  if (mine === theirs) {
    throw new UsageError(`${repo.path}: garbage collection inside "cfskit transaction" on the same repository would wait for itself forever`);
  }
}

function rootsFromRefs(refs: readonly LinkState[], kind: Root['kind'], ignore: ReadonlySet<string>): Root[] {
  const roots: Root[] = [];
  for (const ref of refs) {
    if (ignore.has(ref.rel)) continue;
    if (ref.id === undefined) throw unusableRef(ref);
    roots.push({ kind, id: ref.id, because: ref.rel });
  }
  return roots;
}

/** `--root NAME`: a stream content ID or an image ID, whichever exists (both, if both do). */
function extraRoots(names: readonly string[], entries: Record<Category, Map<string, LinkState>>): Root[] {
  const roots: Root[] = [];
  for (const name of names) {
    let found = false;
    for (const [category, kind] of [['streams', 'stream'], ['images', 'image']] as const) {
      const entry = entries[category].get(name);
      if (entry === undefined) continue;
      if (entry.id === undefined) throw unusableRef(entry);
      roots.push({ kind, id: entry.id, because: `--root ${name}` });
      found = true;
    }
    // cfsctl ignores a root that names nothing; a typo there would let GC
    // delete what the caller meant to keep.
    if (!found) throw new UsageError(`--root ${name}: no stream or image of that name in the repository (a stream content ID such as oci-manifest-sha256:…, or an image ID)`);
  }
  return roots;
}

/** What a collection keeps, decided before anything is removed. */
export interface CollectionPlan {
  readonly live: ReadonlySet<ObjectId>;
  readonly mounted: readonly MountedImage[];
  readonly missing: readonly MissingObject[];
  /** Links (repository-relative) the caller removes itself. */
  readonly ignored: ReadonlySet<string>;
}

/**
 * Finds the roots and everything they reach, changing nothing: a root that
 * cannot be followed fails here, before any removal (the sysroot GC plans
 * first and only then changes tags).
 */
export async function planCollection(repo: Repository, options: GcOptions = {}): Promise<CollectionPlan> {
  const entries = { streams: await listEntries(repo, 'streams'), images: await listEntries(repo, 'images') };
  const ignored = new Set((options.ignoreRefs ?? []).map((r) => `streams/refs/${r}`));
  const roots: Root[] = [
    ...rootsFromRefs(await listRefs(repo, 'images'), 'image', new Set()),
    ...rootsFromRefs(await listRefs(repo, 'streams'), 'stream', ignored),
    ...extraRoots(options.roots ?? [], entries),
  ];
  const mounted = options.keepMounted === false ? [] : await mountedImages(repo);
  for (const m of mounted) roots.push({ kind: 'image', id: m.id, because: `mounted (${m.seenAt})` });
  const reachable = await findReachable(repo, roots, (done, total) => options.progress?.('walking', done, total));
  return { live: reachable.live, mounted, missing: reachable.missing, ignored };
}

/** Removes (or, in a dry run, counts) what the plan does not keep. */
export async function applyCollection(repo: Repository, plan: CollectionPlan, options: Pick<GcOptions, 'dryRun' | 'progress'> = {}): Promise<GcResult> {
  const dryRun = options.dryRun === true;
  const swept = await sweep(repo, plan.live, dryRun, plan.ignored, (stage, done, total) => options.progress?.(stage, done, total));
  return { dryRun, ...swept, mounted: plan.mounted, missing: plan.missing };
}

/** Collects with the lock already held as the mode needs. */
export async function collect(repo: Repository, options: GcOptions = {}): Promise<GcResult> {
  return applyCollection(repo, await planCollection(repo, options), options);
}

/**
 * Runs `body` holding the repository's exclusive lock (then back to the
 * shared one): what collection and anything that must not race it (the
 * sysroot GC's tag changes) run under.
 */
export async function withExclusiveLock<T>(repo: Repository, wait: boolean, body: () => Promise<T>): Promise<T> {
  const lock = repo.repositoryLock;
  if (!lock.held) throw new UnsupportedError(`${repo.path}: garbage collection needs the Linux host bindings (for the repository lock)`);
  if (repo.security === 'unknown') throw new UnsupportedError(`${repo.path}: cannot tell whether the repository requires fs-verity`);
  await refuseInsideTransaction(repo);
  await lock.exclusive(wait);
  try {
    return await body();
  } finally {
    await lock.shared();
  }
}

export async function gc(repo: Repository, options: GcOptions = {}): Promise<GcResult> {
  if (options.dryRun === true) return collect(repo, options);
  return withExclusiveLock(repo, options.wait !== false, () => collect(repo, options));
}

export type { MountedImage, MissingObject, ObjectId };
