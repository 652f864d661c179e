/**
 * The main thread's side of the content workers (content-batch.ts): small
 * files are gathered into batches (bounded by count and bytes), each sent
 * as one message while the importer goes on with earlier entries, and each
 * file's promise settles on its own when its batch is back, so entries are
 * still taken, and their errors seen, in tar order.
 */
import { availableParallelism } from 'node:os';
import { CancelledError, reviveError, HASH_ALG_INFO, type HashAlg } from '../../common/index.js';
import { WorkerPool } from '../workers/index.js';
import { BATCH_BYTES, BATCH_FILES, type BatchFile, type ContentJob, type ContentResult } from './content-batch.js';

let pool: WorkerPool<ContentJob, ContentResult> | undefined;

function contentPool(): WorkerPool<ContentJob, ContentResult> {
  pool ??= new WorkerPool(new URL('./content-worker.js', import.meta.url), availableParallelism());
  return pool;
}

/** Stops the content worker threads (idle ones never keep a process alive). */
export async function closeContentWorkers(): Promise<void> {
  const closing = pool;
  pool = undefined;
  await closing?.close();
}

/** A batched file as it comes back: checked, open, its content in hand. */
export interface BatchedContent {
  /** Open read-only; now the caller's to close. */
  readonly fd: number;
  /** The content (a view into the batch's buffer); undefined for a streamed file. */
  readonly data: Buffer | undefined;
  /** Its fs-verity digest in hex, when the batcher was given an algorithm. */
  readonly objectId: string | undefined;
}

interface Waiting {
  readonly file: BatchFile;
  readonly resolve: (content: BatchedContent) => void;
  readonly reject: (err: unknown) => void;
}

export class ContentBatcher {
  readonly #diffFd: number;
  readonly #root: string;
  readonly #hashAlg: HashAlg | undefined;
  #waiting: Waiting[] = [];
  #bytes = 0;
  /** Number of the batch being gathered (those before it are sent). */
  #current = 0;
  readonly #inFlight = new Set<Promise<void>>();

  /** `diffFd` must stay open until drain() has settled. */
  constructor(diffFd: number, root: string, hashAlg: HashAlg | undefined) {
    this.#diffFd = diffFd;
    this.#root = root;
    this.#hashAlg = hashAlg;
  }

  /** Queues `file`; `batch` is the number to pass to ensureSent. */
  add(file: BatchFile): { readonly content: Promise<BatchedContent>; readonly batch: number } {
    const content = new Promise<BatchedContent>((resolve, reject) => this.#waiting.push({ file, resolve, reject }));
    const batch = this.#current;
    this.#bytes += file.size;
    if (this.#waiting.length >= BATCH_FILES || this.#bytes >= BATCH_BYTES) this.#send();
    return { content, batch };
  }

  /**
   * Queues a file over BATCH_FILE_MAX as a job of its own, sent at once:
   * checked and digested in chunks, its content not kept.
   */
  addStreamed(file: BatchFile): Promise<BatchedContent> {
    const content = new Promise<BatchedContent>((resolve, reject) => this.#run([{ file, resolve, reject }], 0, true));
    return content;
  }

  /** Sends batch `batch` now if it is still being gathered (someone waits for it). */
  ensureSent(batch: number): void {
    if (batch === this.#current) this.#send();
  }

  #send(): void {
    const waiting = this.#waiting;
    if (waiting.length === 0) return;
    const bytes = this.#bytes;
    this.#waiting = [];
    this.#bytes = 0;
    this.#current++;
    this.#run(waiting, bytes, false);
  }

  #run(waiting: readonly Waiting[], bytes: number, streamed: boolean): void {
    const job: ContentJob = { diffFd: this.#diffFd, root: this.#root, files: waiting.map((w) => w.file), bytes, hashAlg: this.#hashAlg, streamed };
    const done = contentPool()
      .run(job)
      .then(
        (result) => this.#settle(waiting, result, streamed),
        (err: unknown) => {
          for (const w of waiting) w.reject(err);
        },
      );
    this.#inFlight.add(done);
    void done.finally(() => this.#inFlight.delete(done));
  }

  #settle(waiting: readonly Waiting[], result: ContentResult, streamed: boolean): void {
    const digestSize = this.#hashAlg === undefined ? 0 : HASH_ALG_INFO[this.#hashAlg].digestSize;
    const { data, digests } = result;
    let offset = 0;
    for (const [i, w] of waiting.entries()) {
      const outcome = result.outcomes[i];
      const size = w.file.size;
      if (outcome !== undefined && 'fd' in outcome) {
        const objectId = digestSize === 0 ? undefined : Buffer.from(digests.buffer, digests.byteOffset + i * digestSize, digestSize).toString('hex');
        const content = streamed ? undefined : Buffer.from(data.buffer, data.byteOffset + offset, size);
        w.resolve({ fd: outcome.fd, data: content, objectId });
      } else {
        w.reject(outcome === undefined ? new CancelledError(`${w.file.input}: no answer for it from the content worker`) : reviveError(outcome.error));
      }
      offset += size;
    }
  }

  /**
   * Refuses the files not sent yet and waits for every batch in flight, so
   * nothing uses diff/'s descriptor after this (their descriptors go to the
   * files' promises, whose owners close them).
   */
  async drain(): Promise<void> {
    const cancelled = new CancelledError('the layer was abandoned before this file was read');
    for (const w of this.#waiting.splice(0)) w.reject(cancelled);
    this.#bytes = 0;
    await Promise.all(this.#inFlight);
  }
}
