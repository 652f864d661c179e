/**
 * fsck's first pass: every file under objects/ against its name. The main
 * thread lists objects/ and hands the names to worker threads in batches
 * (fsck-batch.ts: confined open, one read, one digest per object, all
 * synchronous there), so both cores hash and no object costs a thread-pool
 * round trip. What the batch leaves (objects over BATCH_OBJECT_MAX) and
 * every object of a secure repository (the kernel's measurement, then every
 * block read) are checked here, as before. Problems come out in the sorted
 * order of the names, whatever order the batches finish in.
 */
import { lstat, readdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { isErrno } from '../../common/index.js';
import { WorkerPool, inOrder } from '../workers/index.js';
import type { Add, FsckProgress, Problem } from './fsck.js';
import type { FsckBatch, ObjectCheck } from './fsck-batch.js';
import { openObjectFile } from './links.js';
import { isObjectId, type ObjectId } from './object-id.js';
import type { Repository } from './repository.js';

/** Names per batch: enough to make a message's cost vanish, few enough to keep both workers busy to the end. */
const BATCH_OBJECTS = 128;
/** Batches in flight: one running and one queued per worker. */
const BATCHES_IN_FLIGHT = 2 * availableParallelism();

let pool: WorkerPool<FsckBatch, ObjectCheck[]> | undefined;

/** Stops fsck's worker threads (idle ones never keep a process alive). */
export async function closeFsckWorkers(): Promise<void> {
  const closing = pool;
  pool = undefined;
  await closing?.close();
}

/** A directory's entries, sorted; a missing directory has none. */
export async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}

interface Candidate {
  readonly rel: string;
  /** Undefined when the name is not a digest of the repository's algorithm. */
  readonly id: ObjectId | undefined;
}

export async function checkObjects(repo: Repository, present: Set<ObjectId>, add: Add, progress: FsckProgress | undefined, verify: boolean): Promise<number> {
  const candidates: Candidate[] = [];
  for (const dir of await listDir(join(repo.path, 'objects'))) {
    if (!/^[0-9a-f]{2}$/.test(dir)) continue;
    for (const name of await listDir(join(repo.path, 'objects', dir))) {
      const id = `${dir}${name}`;
      candidates.push({ rel: `objects/${dir}/${name}`, id: isObjectId(id, repo.hashAlg) ? id : undefined });
    }
  }
  if (!verify) {
    for (const c of candidates) if (c.id !== undefined) present.add(c.id);
    return 0;
  }
  // The workers open objects beneath objects/'s descriptor: open it here
  // first. If it cannot be, every object is checked here, each failing to
  // open as it always did.
  const workers = !repo.objects.secure && (!repo.dir.confined || (await repo.dir.objectsFd().then(() => true, () => false)));
  const batches: Candidate[][] = [];
  for (let i = 0; i < candidates.length; i += BATCH_OBJECTS) batches.push(candidates.slice(i, i + BATCH_OBJECTS));
  let done = 0;
  for await (const { item: batch, result } of inOrder(batches, BATCHES_IN_FLIGHT, (b) => checkBatch(repo, b, present, workers))) {
    if (!result.ok) throw result.error;
    for (const p of result.value) add(p.kind, p.path, p.detail);
    done += batch.length;
    progress?.('objects', done, candidates.length);
  }
  return candidates.length;
}

/** One batch's problems, in its order. */
async function checkBatch(repo: Repository, batch: readonly Candidate[], present: Set<ObjectId>, workers: boolean): Promise<Problem[]> {
  const problems: Problem[] = [];
  const add: Add = (kind, path, detail = '') => {
    problems.push({ kind, path, detail });
  };
  const ids = batch.flatMap((c) => (c.id === undefined ? [] : [c.id]));
  // A secure repository's objects are the kernel's to measure: all here.
  const checks = workers && ids.length > 0 ? await batchPool().run(batchJob(repo, ids)) : [];
  let next = 0;
  for (const { rel, id } of batch) {
    if (id === undefined) {
      add('object-invalid-name', rel, `not a ${repo.hashAlg} digest`);
      continue;
    }
    const check = checks[next++];
    if (check === undefined) {
      await checkHere(repo, rel, id, present, add);
      continue;
    }
    if (check.kind === 'not-regular') {
      add('unexpected-file-type', rel, 'not a regular file');
      continue;
    }
    present.add(id);
    if (check.kind === 'large') await verifyHere(repo, rel, id, add);
    else if (check.kind === 'open-failed') add('object-open-failed', rel, check.detail);
    else if (check.digest !== id) add('object-digest-mismatch', rel, `measured ${check.digest}`);
  }
  return problems;
}

function batchPool(): WorkerPool<FsckBatch, ObjectCheck[]> {
  // The workers close descriptors the addon opened, which node's fd
  // tracking in workers would warn about on every close; they close
  // every descriptor they open themselves.
  pool ??= new WorkerPool(new URL('./fsck-worker.js', import.meta.url), availableParallelism(), { trackUnmanagedFds: false });
  return pool;
}

function batchJob(repo: Repository, ids: readonly ObjectId[]): FsckBatch {
  return { repoPath: repo.path, repoFd: repo.dir.fd, objectsFd: repo.dir.openedObjectsFd, hashAlg: repo.hashAlg, ids };
}

/** One object on this thread, from its lstat on (a secure repository's). */
async function checkHere(repo: Repository, rel: string, id: ObjectId, present: Set<ObjectId>, add: Add): Promise<void> {
  const st = await lstat(join(repo.path, rel));
  if (!st.isFile()) {
    add('unexpected-file-type', rel, 'not a regular file');
    return;
  }
  present.add(id);
  await verifyHere(repo, rel, id, add);
}

/** A regular file's content against its name, on this thread (large objects hash on the digest threads). */
async function verifyHere(repo: Repository, rel: string, id: ObjectId, add: Add): Promise<void> {
  let handle;
  try {
    handle = await openObjectFile(repo.dir, id);
  } catch (err) {
    add('object-open-failed', rel, describe(err));
    return;
  }
  try {
    const v = await repo.objects.verify(id, handle.fd);
    if (v.kind === 'verity-missing') add('object-verity-missing', rel);
    else if (v.kind === 'verity-failed') add('object-verity-failed', rel, v.detail);
    else if (v.digest !== id) add('object-digest-mismatch', rel, `measured ${v.digest}`);
  } catch (err) {
    add('object-open-failed', rel, describe(err));
  } finally {
    await handle.close();
  }
}

const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err));
