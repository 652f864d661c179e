/**
 * Layers' CPU work on worker threads: each layer in flight leases a worker
 * (at most one per core), streams its blob's bytes to it and takes back
 * batches of records (layer-work.ts) to write, in order. Both directions are
 * bounded: at most INPUT_AHEAD bytes sent and not yet taken by the worker,
 * and at most four batches (of ≤ 1 MiB) not yet written. A worker that failed
 * or was abandoned part-way is terminated, never reused; idle ones are
 * unref'd, and `close` ends them all.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CancelledError, reviveError, type SerializedError } from '../../common/index.js';
import type { LayerBatch, LayerWorkJob } from './layer-work.js';

/** Blob bytes sent ahead of what the worker has taken. */
const INPUT_AHEAD = 4 << 20;

export type ToWorker =
  | { readonly t: 'start'; readonly job: LayerWorkJob }
  | { readonly t: 'data'; readonly bytes: Uint8Array }
  | { readonly t: 'end' }
  | { readonly t: 'ack' };

export type ToMain =
  | { readonly t: 'consumed'; readonly bytes: number }
  | { readonly t: 'batch'; readonly batch: LayerBatch }
  | { readonly t: 'done' }
  | { readonly t: 'error'; readonly error: SerializedError };

const SCRIPT = new URL('./layer-worker.js', import.meta.url);

export class LayerThreads {
  readonly #idle: Worker[] = [];
  readonly #waiting: ((worker: Worker) => void)[] = [];
  readonly #all = new Set<Worker>();
  readonly #size: number;
  #closed = false;

  constructor(size = availableParallelism()) {
    this.#size = Math.max(1, size);
  }

  async #lease(): Promise<Worker> {
    if (this.#closed) throw new CancelledError('layer threads are closed');
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#all.size < this.#size) {
      const worker = new Worker(SCRIPT);
      this.#all.add(worker);
      return worker;
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(worker: Worker, healthy: boolean): void {
    worker.removeAllListeners('message');
    worker.removeAllListeners('error');
    worker.removeAllListeners('exit');
    if (!healthy || this.#closed) {
      this.#all.delete(worker);
      void worker.terminate();
      // Its place is free: a waiting layer gets a new worker.
      const next = this.#waiting.shift();
      if (next && !this.#closed) void this.#lease().then(next);
      return;
    }
    const next = this.#waiting.shift();
    if (next) return next(worker);
    worker.unref();
    this.#idle.push(worker);
  }

  /**
   * Runs `job` over `blob` on a worker, calling `onBatch` for each batch in
   * order (the next waits until it returns). Rejects with the first
   * problem: the blob's (reading it), the worker's (the layer's content),
   * or `onBatch`'s.
   */
  async run(job: LayerWorkJob, blob: AsyncIterable<Uint8Array>, onBatch: (batch: LayerBatch) => Promise<void>): Promise<void> {
    const worker = await this.#lease();
    worker.ref();
    let healthy = false;
    let failure: { error: unknown } | undefined;
    let ahead = 0;
    let wakeFeeder: (() => void) | undefined;
    let finished!: () => void;
    let failed!: (err: unknown) => void;
    const outcome = new Promise<void>((resolve, reject) => {
      finished = resolve;
      failed = reject;
    });
    // Keeps an early failure from being unhandled while the feeder still runs.
    outcome.catch(() => undefined);
    const fail = (error: unknown): void => {
      if (failure) return;
      failure = { error };
      failed(error);
      wakeFeeder?.();
    };
    // Batches are written one after another, in order.
    let writing: Promise<void> = Promise.resolve();
    worker.on('message', (message: ToMain) => {
      switch (message.t) {
        case 'consumed':
          ahead -= message.bytes;
          if (ahead < INPUT_AHEAD) wakeFeeder?.();
          return;
        case 'batch':
          writing = writing.then(async () => {
            if (failure) return;
            try {
              await onBatch(message.batch);
              worker.postMessage({ t: 'ack' } satisfies ToWorker);
            } catch (err) {
              fail(err);
            }
          });
          return;
        case 'done':
          void writing.then(() => {
            if (!failure) finished();
          });
          return;
        case 'error':
          fail(reviveError(message.error));
          return;
      }
    });
    worker.on('error', (err) => fail(err));
    worker.once('exit', (code) => fail(new CancelledError(`layer worker exited with code ${code} before finishing`)));
    try {
      worker.postMessage({ t: 'start', job } satisfies ToWorker);
      try {
        for await (const chunk of blob) {
          if (failure) break;
          // A copy the worker can own (the source's buffer may be a slice of a larger pool).
          const bytes = new Uint8Array(chunk);
          ahead += bytes.length;
          worker.postMessage({ t: 'data', bytes } satisfies ToWorker, [bytes.buffer]);
          while (ahead >= INPUT_AHEAD && !failure) await new Promise<void>((resolve) => (wakeFeeder = resolve));
          wakeFeeder = undefined;
        }
      } catch (err) {
        fail(err);
      }
      if (!failure) worker.postMessage({ t: 'end' } satisfies ToWorker);
      try {
        await outcome;
      } finally {
        // Nothing may still be writing once this returns (the caller then aborts the stream).
        await writing;
      }
      healthy = true;
    } finally {
      this.#release(worker, healthy);
    }
  }

  /** Ends every worker (a layer still running fails). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#idle.splice(0);
    const all = [...this.#all];
    this.#all.clear();
    await Promise.all(all.map((w) => w.terminate()));
  }
}
