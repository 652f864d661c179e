/**
 * fs-verity digests of files and byte arrays. Files stream through a
 * reused buffer (memory does not grow with file size); files over
 * `parallelThreshold` are split into aligned ranges hashed on worker threads,
 * which gives the same digest as the serial path.
 */
import { closeSync, constants, fstat, fstatSync, openSync, readSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { availableParallelism } from 'node:os';
import { fsverity, tarsplit, withInput } from '../core/index.js';
import { CancelledError, InputError, IntegrityError, UsageError, systemError, type HashAlg } from '../../common/index.js';
import { WorkerPool } from '../workers/index.js';
import { resolveParams, type VerityOptions, type VerityParams } from './params.js';
import { planRanges } from './plan.js';
import type { RangeJob, RangeResult } from './range.js';
import { READ_CHUNK, readChunks } from './reader.js';

export interface DigestFileOptions extends VerityOptions {
  /** Worker threads for large files; default: every core. 1 means serial. */
  threads?: number;
  /** Files at least this large are hashed in parallel; default 16 MiB. */
  parallelThreshold?: number;
  /** Bytes per parallel job (rounded to the tree's alignment); default 32 MiB. */
  jobBytes?: number;
  /** Also compute the CRC-64/GO-ISO tar-split records, from the same read. */
  crc64?: boolean;
}

export interface FileDigest {
  readonly path: string;
  readonly hashAlg: HashAlg;
  readonly blockSize: number;
  readonly size: number;
  readonly digest: Uint8Array;
  readonly hex: string;
  /** When asked for with `crc64: true`. */
  readonly crc64?: bigint;
}

export const DEFAULT_PARALLEL_THRESHOLD = 16 << 20;

/**
 * During imports, contents at least this large are hashed on the digest
 * worker threads: an import stores thousands of files at once, and the main
 * thread alone would use one core of the machine. Lower thresholds measured
 * no faster on 2 cores (bench/import): handing a file over costs about what
 * hashing it in place does.
 */
export const IMPORT_PARALLEL_THRESHOLD = 1 << 20;

const fstatAsync = promisify(fstat);


const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

export { formatDigest } from './format.js';

/** The digest of bytes already in memory. */
export function digestBytes(data: Uint8Array, options: VerityOptions = {}): Uint8Array {
  const params = resolveParams(options);
  if (data.length <= READ_CHUNK) return fsverity.digest(params.core, data);
  const hasher = fsverity.FileHasher.create(params.core);
  try {
    for (let pos = 0; pos < data.length; pos += READ_CHUNK) {
      hasher.update(data.subarray(pos, pos + READ_CHUNK));
    }
    return hasher.finish();
  } finally {
    hasher[Symbol.dispose]();
  }
}

/**
 * The digest of the first `size` bytes of `fd`, read on this thread through
 * `buffer` (reused by the caller; any size of at least one byte more than
 * a small file): one read and one core call when the file fits, else one
 * hasher fed chunk by chunk. For worker threads that check many files.
 */
export function digestFdSync(fd: number, path: string, size: number, buffer: Buffer, options: VerityOptions = {}): Uint8Array {
  const params = resolveParams(options);
  if (size < buffer.length) {
    let total = 0;
    for (;;) {
      const got = readSync(fd, buffer, total, buffer.length - total, total);
      if (got === 0 || (total += got) > size) break;
    }
    if (total !== size) throw new IntegrityError(path, `read ${total} bytes but the file had ${size} (it changed while being read)`);
    return fsverity.digest(params.core, buffer.subarray(0, size));
  }
  const hasher = fsverity.FileHasher.create(params.core);
  try {
    let total = 0;
    for (;;) {
      const got = readSync(fd, buffer, 0, buffer.length, total);
      if (got === 0) break;
      total += got;
      if (total > size) break;
      hasher.update(buffer.subarray(0, got));
    }
    if (total !== size) throw new IntegrityError(path, `read ${total} bytes but the file had ${size} (it changed while being read)`);
    return hasher.finish();
  } finally {
    hasher[Symbol.dispose]();
  }
}

/** Validates a thread count; undefined means every core. */
export function resolveThreads(threads: number | undefined): number {
  const n = threads ?? availableParallelism();
  if (!Number.isInteger(n) || n < 1 || n > 1024) {
    throw new UsageError(`invalid thread count ${n} (expected a whole number from 1 to 1024)`);
  }
  return n;
}

/**
 * The digest of a regular file, opened by path or given as an open handle
 * or descriptor (`name` then names it in errors; the caller keeps it open).
 */
export async function digestFile(
  file: string | FileHandle | number,
  options: DigestFileOptions = {},
  name?: string,
): Promise<FileDigest> {
  const params = resolveParams(options);
  const threads = resolveThreads(options.threads);
  const threshold = options.parallelThreshold ?? DEFAULT_PARALLEL_THRESHOLD;
  const given = typeof file === 'number' ? file : typeof file === 'string' ? undefined : file.fd;
  const path = typeof file === 'string' ? file : (name ?? `fd ${given}`);
  let opened: number | undefined;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; it is then
    // refused as not a regular file. Synchronous, like the fstat and close
    // below: these take microseconds, the asynchronous versions tens of
    // them, which is most of the time for a small file.
    if (typeof file === 'string') opened = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw systemError(err, path, 'open');
  }
  const fd = opened ?? (given as number);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputError(path, 'not a regular file');
    const wantCrc = options.crc64 === true;
    const { digest, crc64 } =
      st.size <= ONE_READ_MAX
        ? digestSmall(fd, path, st.size, params, wantCrc)
        : threads > 1 && st.size >= threshold
          ? await digestParallel(fd, path, st.size, params, threads, options.jobBytes, wantCrc)
          : await digestSerial(fd, path, st.size, params, wantCrc);
    const result = { path, hashAlg: params.hashAlg, blockSize: params.blockSize, size: st.size, digest, hex: toHex(digest) };
    return crc64 === undefined ? result : { ...result, crc64 };
  } catch (err) {
    throw systemError(err, path, 'read');
  } finally {
    if (opened !== undefined) closeSync(opened);
  }
}

/** Files up to this size are read whole, in one read and one call into the core. */
const ONE_READ_MAX = 64 << 10;

/**
 * A small file in one read and one call into the core: for the thousands of
 * small files of an image, the per-call costs of the streaming path (buffer
 * pairs, several async reads, four core calls) would dominate. A read of a
 * few pages from a local file does not hold the event loop up for long.
 */
function digestSmall(fd: number, path: string, size: number, params: VerityParams, wantCrc: boolean): Digested {
  const data = Buffer.allocUnsafe(size + 1);
  let total = 0;
  for (;;) {
    const got = readSync(fd, data, total, data.length - total, total);
    if (got === 0) break;
    total += got;
    if (total > size) break;
  }
  if (total !== size) throw new IntegrityError(path, `read ${total} bytes but the file had ${size} (it changed while being read)`);
  const content = data.subarray(0, size);
  return { digest: fsverity.digest(params.core, content), crc64: wantCrc ? tarsplit.crc64Checksum(content) : undefined };
}

interface Digested {
  readonly digest: Uint8Array;
  readonly crc64: bigint | undefined;
}

async function digestSerial(fd: number, path: string, size: number, params: VerityParams, wantCrc: boolean): Promise<Digested> {
  const hasher = fsverity.FileHasher.create(params.core);
  const crc = wantCrc ? tarsplit.Crc64.create() : undefined;
  try {
    let total = 0;
    for await (const chunk of readChunks(fd, path, 0, undefined, size)) {
      hasher.update(chunk);
      crc?.update(chunk);
      total += chunk.length;
    }
    if (total !== size) {
      throw new IntegrityError(path, `read ${total} bytes but the file had ${size} (it changed while being read)`);
    }
    return { digest: hasher.finish(), crc64: crc?.value() };
  } finally {
    hasher[Symbol.dispose]();
    crc?.[Symbol.dispose]();
  }
}

/**
 * One pool for every parallel digest, as large as the largest thread count
 * asked for; each digest keeps at most its own `threads` jobs in flight, so
 * concurrent digests with different counts share it.
 */
let pool: WorkerPool<RangeJob, RangeResult> | undefined;

function rangePool(threads: number): WorkerPool<RangeJob, RangeResult> {
  pool ??= new WorkerPool(new URL('./worker.js', import.meta.url), threads);
  pool.grow(threads);
  return pool;
}

/**
 * Stops the digest worker threads (idle ones never keep a process alive).
 * Digests still running reject with a CancelledError; later ones start a
 * new pool.
 */
export async function closeDigestWorkers(): Promise<void> {
  const closing = pool;
  pool = undefined;
  await closing?.close();
}

async function digestParallel(
  fd: number,
  path: string,
  size: number,
  params: VerityParams,
  threads: number,
  jobBytes: number | undefined,
  wantCrc: boolean,
): Promise<Digested> {
  const plan = planRanges(params, size, jobBytes);
  const workers = rangePool(threads);
  const parts: RangeResult[] = [];
  let next = 0;
  let failure: { readonly reason: unknown } | undefined;
  // `threads` lanes each run one job after another. Every lane finishes
  // before this returns, so no worker still reads the descriptor when the
  // caller closes it; after a failure no lane starts another job.
  const lane = async (): Promise<void> => {
    while (next < plan.jobs && failure === undefined) {
      const i = next++;
      const start = i * plan.jobSize;
      const end = Math.min(size, start + plan.jobSize);
      try {
        parts[i] = await workers.run({ path, fd, start, end, height: plan.height, params, crc64: wantCrc });
      } catch (err) {
        failure ??= { reason: err instanceof CancelledError ? new CancelledError(`${path}: digest abandoned: ${err.message}`) : err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(threads, plan.jobs) }, lane));
  if (failure !== undefined) throw failure.reason;
  const entries = Buffer.concat(parts.map((p) => p.entries));
  const after = await fstatAsync(fd);
  if (after.size !== size) {
    throw new IntegrityError(path, `size changed from ${size} to ${after.size} bytes while being read`);
  }
  const digest = withInput(path, () => fsverity.digestFromEntries(params.core, plan.height, BigInt(size), entries));
  let crc64: bigint | undefined;
  if (wantCrc) {
    crc64 = parts[0]?.crc64 ?? 0n;
    for (const [i, part] of parts.entries()) {
      if (i === 0) continue;
      const length = Math.min(size, (i + 1) * plan.jobSize) - i * plan.jobSize;
      crc64 = tarsplit.crc64Combine(crc64, part.crc64 ?? 0n, BigInt(length));
    }
  }
  return { digest, crc64 };
}
