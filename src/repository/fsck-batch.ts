/**
 * fsck's object check for a batch of objects, run on a worker thread: per
 * object an lstat, a confined open, an fstat, one read into a reused buffer
 * and one digest, all synchronous (microseconds each for a cached file,
 * where the promise API's thread-pool round trips cost more than the
 * hashing). Objects over BATCH_OBJECT_MAX are left to the caller, which
 * hashes them in parallel on the digest threads; those up to it are hashed
 * here, through one reused buffer. Insecure repositories only: a secure
 * one is checked by the kernel's measurement (see fsck.ts).
 */
import { closeSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { systemError, type HashAlg } from '../../common/index.js';
import { DEFAULT_PARALLEL_THRESHOLD, digestFdSync } from '../fsverity/index.js';
import { openObjectFileSync } from './links.js';
import { objectRelPath, toObjectId, type ObjectId } from './object-id.js';
import { RepoDir } from './repo-dir.js';

/**
 * Objects up to this size are hashed in the batch (one worker each, while
 * the others go on with their batches); larger ones go back to the caller,
 * to be split over every digest thread as a lone digest is.
 */
export const BATCH_OBJECT_MAX = DEFAULT_PARALLEL_THRESHOLD;

/** The batch's read buffer: small objects in one read, larger ones in chunks of this. */
export const BATCH_BUFFER = (1 << 20) + 1;

export interface FsckBatch {
  readonly repoPath: string;
  /** The repository's and objects/'s descriptors (process-wide), with the addon; else undefined (the portable checks). */
  readonly repoFd: number | undefined;
  readonly objectsFd: number | undefined;
  readonly hashAlg: HashAlg;
  /** Well-named objects, in the order the answers come back. */
  readonly ids: readonly ObjectId[];
}

/** What one object turned out to be; `detail` is the problem's, as fsck.ts reports it. */
export type ObjectCheck =
  | { readonly kind: 'digest'; readonly digest: ObjectId }
  | { readonly kind: 'not-regular' }
  | { readonly kind: 'open-failed'; readonly detail: string }
  /** A regular file larger than BATCH_OBJECT_MAX: for the caller to verify. */
  | { readonly kind: 'large' };

const describe = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function checkOne(dir: RepoDir, id: ObjectId, buffer: Buffer, hashAlg: HashAlg): ObjectCheck {
  const rel = objectRelPath(id);
  // As the one-at-a-time check did: the lstat failing fails the whole check.
  if (!lstatSync(join(dir.path, rel)).isFile()) return { kind: 'not-regular' };
  let opened: { fd: number; size: number };
  try {
    opened = openObjectFileSync(dir, id);
  } catch (err) {
    return { kind: 'open-failed', detail: describe(err) };
  }
  const { fd, size } = opened;
  try {
    if (size > BATCH_OBJECT_MAX) return { kind: 'large' };
    return { kind: 'digest', digest: toObjectId(digestFdSync(fd, rel, size, buffer, { hashAlg })) };
  } catch (err) {
    return { kind: 'open-failed', detail: describe(systemError(err, rel, 'read')) };
  } finally {
    closeSync(fd);
  }
}

/** `buffer`: BATCH_BUFFER bytes, reused from batch to batch. */
export function checkObjectBatch(job: FsckBatch, buffer: Buffer): ObjectCheck[] {
  const dir = new RepoDir(job.repoPath, job.repoFd, job.objectsFd);
  return job.ids.map((id) => checkOne(dir, id, buffer, job.hashAlg));
}
