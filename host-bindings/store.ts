/**
 * Storing content-addressed objects from open source files (see
 * src/store.cc): for each, exists already? reflink, hardlink or copy, in
 * the given order; fs-verity when asked; linked into place only when
 * complete; or from contents held in memory (writeObject: the small files
 * of a tar). Requests are gathered into batches — a call into the addon
 * costs more than storing a small object — and each caller gets its own
 * result.
 */
import { describe, hostCall } from './call.js';
import { errnoOf } from '../common/index.js';
import { toSystemError, type PathArg } from './native.js';

/** How an object's data may get into the store, in a caller's order of preference. */
export type StoreStrategy = 'reflink' | 'hardlink' | 'copy';

/**
 * What became of one request: stored (by `strategy`), already there, no
 * strategy possible (refused), or a source that is not what was claimed.
 */
export type StoreStatus = 'stored' | 'exists' | 'refused' | 'not-regular' | 'size-mismatch' | 'changed' | 'digest-mismatch';

export interface StoreObjectResult {
  readonly status: StoreStatus;
  /** The strategy that stored it, for `stored` (null for writeObject's contents: written). */
  readonly strategy: StoreStrategy | null;
  /** The kernel's measurement, when fs-verity was asked for. */
  readonly digest: Buffer | null;
  /** The source's device, for remembering where reflinks fail. */
  readonly srcDev: bigint;
  /** FICLONE was tried and the file systems cannot do it. */
  readonly reflinkUnsupported: boolean;
  /** The source's size (for `size-mismatch`). */
  readonly actualSize: number;
}

export interface StoreObjectRequest {
  readonly size: number;
  /** `xx/rest` when the ID is known (insecure: computed first); '' to use the measurement. */
  readonly name: string;
  readonly strategies: readonly StoreStrategy[];
  /** fs-verity: kernel algorithm id (1 sha256, 2 sha512) and block size; 0 for none. */
  readonly verityAlgorithm: 0 | 1 | 2;
  readonly verityBlockSize: number;
  /** Devices whose files are known not to reflink into this repository. */
  readonly skipReflinkDevs: readonly bigint[];
}

type BatchReply = StoreObjectResult | { readonly error: unknown };

declare module './native.js' {
  interface NativeHost {
    writeObjects(objectsDir: PathArg, contents: readonly Buffer[], names: readonly string[], algorithm: number, blockSize: number): Promise<BatchReply[]>;
    storeObjects(
      objectsDir: PathArg,
      fds: readonly number[],
      sizes: readonly number[],
      names: readonly string[],
      strategies: readonly StoreStrategy[],
      algorithm: number,
      blockSize: number,
      skipReflinkDevs: readonly bigint[],
    ): Promise<BatchReply[]>;
  }
}

interface Waiting {
  readonly fd: number;
  readonly req: StoreObjectRequest;
  readonly resolve: (r: StoreObjectResult) => void;
  readonly reject: (err: unknown) => void;
}

/** Up to this many requests go in one call; more wait for the next. */
const BATCH = 32;

const queues = new Map<string, { dir: PathArg; waiting: Waiting[]; scheduled: boolean }>();

function keyOf(dir: PathArg, req: StoreObjectRequest): string {
  return [describe(dir), req.strategies.join(','), req.verityAlgorithm, req.verityBlockSize, req.skipReflinkDevs.join(',')].join('|');
}

function flush(key: string): void {
  const queue = queues.get(key);
  if (!queue) return;
  queue.scheduled = false;
  while (queue.waiting.length > 0) {
    const batch = queue.waiting.splice(0, BATCH);
    const first = batch[0];
    if (!first) return;
    const r = first.req;
    hostCall('storing objects', describe(queue.dir), (host) =>
      host.storeObjects(
        queue.dir,
        batch.map((w) => w.fd),
        batch.map((w) => w.req.size),
        batch.map((w) => w.req.name),
        r.strategies,
        r.verityAlgorithm,
        r.verityBlockSize,
        r.skipReflinkDevs,
      ),
    ).then(
      (replies) =>
        batch.forEach((w, i) => {
          const reply = replies[i];
          if (reply && 'status' in reply) w.resolve(reply);
          else {
            const err = reply?.error;
            w.reject(errnoOf(err) === undefined ? err : toSystemError(err, describe(w.fd)));
          }
        }),
      (err: unknown) => batch.forEach((w) => w.reject(err)),
    );
  }
  queues.delete(key);
}

/**
 * Stores one object from `srcFd` (which must stay open until this settles).
 * Calls made in the same turn of the event loop share a batch.
 */
export function storeObject(srcFd: number, objectsDir: PathArg, req: StoreObjectRequest): Promise<StoreObjectResult> {
  const key = keyOf(objectsDir, req);
  let queue = queues.get(key);
  if (!queue) {
    queue = { dir: objectsDir, waiting: [], scheduled: false };
    queues.set(key, queue);
  }
  const q = queue;
  return new Promise<StoreObjectResult>((resolve, reject) => {
    q.waiting.push({ fd: srcFd, req, resolve, reject });
    if (q.waiting.length >= BATCH) flush(key);
    else if (!q.scheduled) {
      q.scheduled = true;
      setImmediate(() => flush(key));
    }
  });
}

export interface WriteObjectRequest {
  /** `xx/rest` when the ID is known (insecure: computed first); '' to use the measurement. */
  readonly name: string;
  readonly verityAlgorithm: 0 | 1 | 2;
  readonly verityBlockSize: number;
}

interface WaitingWrite {
  readonly content: Buffer;
  readonly name: string;
  readonly resolve: (r: StoreObjectResult) => void;
  readonly reject: (err: unknown) => void;
}

const writeQueues = new Map<string, { dir: PathArg; algorithm: number; blockSize: number; waiting: WaitingWrite[]; scheduled: boolean }>();

function flushWrites(key: string): void {
  const queue = writeQueues.get(key);
  if (!queue) return;
  writeQueues.delete(key);
  while (queue.waiting.length > 0) {
    const batch = queue.waiting.splice(0, BATCH);
    hostCall('writing objects', describe(queue.dir), (host) =>
      host.writeObjects(queue.dir, batch.map((w) => w.content), batch.map((w) => w.name), queue.algorithm, queue.blockSize),
    ).then(
      (replies) =>
        batch.forEach((w, i) => {
          const reply = replies[i];
          if (reply && 'status' in reply) w.resolve(reply);
          else {
            const err = reply?.error;
            w.reject(errnoOf(err) === undefined ? err : toSystemError(err, describe(queue.dir)));
          }
        }),
      (err: unknown) => batch.forEach((w) => w.reject(err)),
    );
  }
}

/**
 * Stores one object whose content is in memory. The addon reads `content`
 * in place: it must not change until this settles. Calls made in the same
 * turn of the event loop share a batch.
 */
export function writeObject(content: Buffer, objectsDir: PathArg, req: WriteObjectRequest): Promise<StoreObjectResult> {
  const key = [describe(objectsDir), req.verityAlgorithm, req.verityBlockSize].join('|');
  let queue = writeQueues.get(key);
  if (!queue) {
    queue = { dir: objectsDir, algorithm: req.verityAlgorithm, blockSize: req.verityBlockSize, waiting: [], scheduled: false };
    writeQueues.set(key, queue);
  }
  const q = queue;
  return new Promise<StoreObjectResult>((resolve, reject) => {
    q.waiting.push({ content, name: req.name, resolve, reject });
    if (q.waiting.length >= BATCH) flushWrites(key);
    else if (!q.scheduled) {
      q.scheduled = true;
      setImmediate(() => flushWrites(key));
    }
  });
}
