/**
 * The per-file work of an import, for many small layer files at once on a
 * worker thread: open each beneath diff/'s descriptor, read it whole, check
 * its size and CRC-64 against tar-split's record and compute its fs-verity
 * digest (its object ID in an insecure repository), with one call into the
 * core for the whole batch. The contents come back in one buffer (moved,
 * not copied) because the importer still needs them: the diff_id's sha256
 * runs over the whole tar in order, and the smallest files go inline into
 * the layer stream. Each file succeeds or fails on its own, so errors still
 * surface in tar order; a failed file's descriptor is closed here.
 */
import { closeSync, readSync } from 'node:fs';
import { sep } from 'node:path';
import { CfskitError, serializeError, systemError, type HashAlg, type SerializedError } from '../../common/index.js';
import { fsverity, tarsplit } from '../core/index.js';
import { resolveParams } from '../fsverity/index.js';
import { openAndReadBeneath, openBeneathChecked, sizeProblem } from './beneath-read.js';
import { checkSums, type ContentClaim } from './content.js';

/** Files up to this size are read and checked in batches on the content workers. */
export const BATCH_FILE_MAX = 1 << 20;
/** Larger files go one per job, streamed through a buffer of this size (their contents do not come back). */
export const STREAM_CHUNK = 1 << 20;
/** A batch is sent once it holds this many files ... */
export const BATCH_FILES = 64;
/** ... or this many bytes of content. */
export const BATCH_BYTES = 1 << 20;

export interface BatchFile extends ContentClaim {
  /**
   * The cleaned path relative to diff/, as tar-split recorded it, its bytes
   * as latin1 (any bytes survive): a string crosses to the worker for the
   * price of its length, while a Uint8Array view takes its whole buffer
   * (node's 8 KiB pool, for a small Buffer) with it.
   */
  readonly path: string;
}

export interface ContentJob {
  /** diff/'s descriptor (opened O_NOFOLLOW by DiffFiles; open until the job settles). */
  readonly diffFd: number;
  /** diff/'s path, for error messages. */
  readonly root: string;
  readonly files: readonly BatchFile[];
  /** The sum of the files' sizes. */
  readonly bytes: number;
  /** Set when the object IDs are to be computed (an insecure repository). */
  readonly hashAlg: HashAlg | undefined;
  /**
   * One large file, read in chunks and checked, its content not kept
   * (`data` comes back empty): the importer reads it again for the
   * diff_id, as it reads every file over BATCH_FILE_MAX.
   */
  readonly streamed?: boolean;
}

/** Per file: its open descriptor (now the caller's), or why it was refused. */
export type BatchOutcome = { readonly fd: number } | { readonly error: SerializedError };

export interface ContentResult {
  /** The contents back to back, in the job's order. */
  readonly data: Uint8Array;
  readonly outcomes: BatchOutcome[];
  /** fs-verity digests back to back (empty without `hashAlg`). */
  readonly digests: Uint8Array;
}

export function checkContentBatch(job: ContentJob): ContentResult {
  if (job.streamed) return checkStreamed(job);
  // A buffer of its own (never node's shared pool), so it can be moved, and
  // not zero-filled (every byte is read into); one byte more than the
  // contents lets the last read prove its file's size.
  const data = Buffer.allocUnsafeSlow(job.bytes + 1);
  const root = Buffer.from(job.root + sep);
  const outcomes: BatchOutcome[] = [];
  const sizes = new BigUint64Array(job.files.length);
  let offset = 0;
  for (const [i, file] of job.files.entries()) {
    const relative = Buffer.from(file.path, 'latin1');
    const shown = Buffer.concat([root, relative]).toString();
    try {
      outcomes.push({ fd: openAndReadBeneath(job.diffFd, file.input, relative, shown, file.size, data, offset) });
    } catch (err) {
      outcomes.push({ error: serializeError(err) });
    }
    sizes[i] = BigInt(file.size);
    offset += file.size;
  }
  const params = job.hashAlg === undefined ? undefined : resolveParams({ hashAlg: job.hashAlg });
  const sums = tarsplit.contentSums(data.subarray(0, job.bytes), sizes, params?.core);
  for (const [i, file] of job.files.entries()) {
    const outcome = outcomes[i];
    if (outcome === undefined || !('fd' in outcome)) continue;
    try {
      checkSums(file, file.size, sums.crc64s[i] ?? 0n);
    } catch (err) {
      closeSync(outcome.fd);
      outcomes[i] = { error: serializeError(err) };
    }
  }
  return { data: data.subarray(0, job.bytes), outcomes, digests: sums.digests };
}

/** The `streamed` job: one file, checked (and digested) chunk by chunk. */
function checkStreamed(job: ContentJob): ContentResult {
  const file = job.files[0];
  if (job.files.length !== 1 || file === undefined) throw new RangeError('a streamed content job takes exactly one file');
  const relative = Buffer.from(file.path, 'latin1');
  const shown = Buffer.concat([Buffer.from(job.root + sep), relative]).toString();
  const params = job.hashAlg === undefined ? undefined : resolveParams({ hashAlg: job.hashAlg });
  const hasher = params && fsverity.FileHasher.create(params.core);
  const crc = tarsplit.Crc64.create();
  const none = new Uint8Array(0);
  let fd: number | undefined;
  try {
    fd = openBeneathChecked(job.diffFd, file.input, relative, shown);
    // The size first, as the main thread's open does: a FIFO or a file of
    // another size is refused before a byte is read.
    const wrong = sizeProblem(file.input, fd, shown, file.size);
    if (wrong) throw wrong;
    const buffer = Buffer.allocUnsafe(STREAM_CHUNK);
    let total = 0;
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buffer, 0, buffer.length, total);
      } catch (err) {
        throw systemError(err, shown, 'read');
      }
      if (n === 0) break;
      const chunk = buffer.subarray(0, n);
      hasher?.update(chunk);
      crc.update(chunk);
      total += n;
      // Grown meanwhile: no need to read on to say so.
      if (total > file.size) break;
    }
    checkSums(file, total, crc.value());
    const digests = hasher ? hasher.finish() : none;
    return { data: none, outcomes: [{ fd }], digests };
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    const error = err instanceof CfskitError ? err : systemError(err, shown, 'read');
    return { data: none, outcomes: [{ error: serializeError(error) }], digests: none };
  } finally {
    hasher?.[Symbol.dispose]();
    crc[Symbol.dispose]();
  }
}
