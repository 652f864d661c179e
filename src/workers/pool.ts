/**
 * A small pool of worker threads, each running one script that answers
 * requests (see `serve`). Workers start lazily up to the pool's size (which
 * may grow), take the next queued request when free, and are unref'd while
 * idle so they never keep a process alive. Every request settles: with the
 * worker's answer, its error rebuilt as the same cfskit class, or a
 * CancelledError when the pool is closed first or its worker dies.
 *
 * Not piscina or tinypool: neither can grow a pool once made (a digest asks
 * for its own thread count), both lose an error's class across the thread
 * boundary, and piscina brings a native optional dependency; what is needed
 * here fits in this file.
 */
import { Worker, parentPort, type Transferable, type WorkerOptions } from 'node:worker_threads';
import { CancelledError, reviveError, serializeError, type SerializedError } from '../../common/index.js';

type Reply<Res> = { id: number; ok: true; value: Res } | { id: number; ok: false; error: SerializedError };

interface Task<Req, Res> {
  readonly id: number;
  readonly request: Req;
  readonly transfer: readonly Transferable[];
  readonly resolve: (value: Res) => void;
  readonly reject: (err: Error) => void;
}

interface Slot<Req, Res> {
  readonly worker: Worker;
  task: Task<Req, Res> | undefined;
}

export class WorkerPool<Req, Res> {
  private readonly slots: Slot<Req, Res>[] = [];
  private readonly queue: Task<Req, Res>[] = [];
  private nextId = 0;
  private closed = false;
  #size: number;

  constructor(
    private readonly script: URL,
    size: number,
    /** Passed to each Worker (e.g. `trackUnmanagedFds: false` for a script that closes descriptors the addon opened). */
    private readonly workerOptions: WorkerOptions = {},
  ) {
    this.#size = size;
  }

  /** The most workers this pool runs at once. */
  get size(): number {
    return this.#size;
  }

  /** Lets the pool run at least `size` workers (it never shrinks). */
  grow(size: number): void {
    if (size <= this.#size) return;
    this.#size = size;
    this.dispatch();
  }

  /**
   * Runs `request` on the next free worker. `transfer` moves buffers to the
   * worker instead of copying them (they become unusable here).
   */
  run(request: Req, transfer: readonly Transferable[] = []): Promise<Res> {
    if (this.closed) return Promise.reject(new CancelledError('worker pool is closed'));
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, request, transfer, resolve, reject });
      this.dispatch();
    });
  }

  /**
   * Stops every worker. Requests still queued or running reject with a
   * CancelledError (a running one may have done part of its work); later
   * requests too. Resolves once the threads are gone.
   */
  async close(): Promise<void> {
    this.closed = true;
    const cancelled = new CancelledError('worker pool was closed before the request finished');
    for (const task of this.queue.splice(0)) task.reject(cancelled);
    const slots = this.slots.splice(0);
    for (const slot of slots) {
      slot.task?.reject(cancelled);
      slot.task = undefined;
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    while (!this.closed && this.queue.length > 0) {
      const slot = this.slots.find((s) => s.task === undefined) ?? this.spawn();
      if (!slot) return;
      const task = this.queue.shift() as Task<Req, Res>;
      slot.task = task;
      slot.worker.ref();
      slot.worker.postMessage({ id: task.id, request: task.request }, [...task.transfer]);
    }
  }

  private spawn(): Slot<Req, Res> | undefined {
    if (this.slots.length >= this.#size) return undefined;
    const slot: Slot<Req, Res> = { worker: new Worker(this.script, { execArgv: workerExecArgv(process.execArgv), ...this.workerOptions }), task: undefined };
    slot.worker.on('message', (reply: Reply<Res>) => this.settle(slot, reply));
    slot.worker.on('error', (err: Error) => this.fail(slot, err));
    slot.worker.on('exit', (code) => this.fail(slot, new CancelledError(`worker thread exited with code ${code} before answering`)));
    this.slots.push(slot);
    return slot;
  }

  private settle(slot: Slot<Req, Res>, reply: Reply<Res>): void {
    const task = slot.task;
    if (!task || task.id !== reply.id) return;
    slot.task = undefined;
    slot.worker.unref();
    if (reply.ok) task.resolve(reply.value);
    else task.reject(reviveError(reply.error));
    this.dispatch();
  }

  /** The worker is gone (crashed or exited): its request fails, the others go on elsewhere. */
  private fail(slot: Slot<Req, Res>, err: Error): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    this.slots.splice(index, 1);
    slot.task?.reject(err);
    slot.task = undefined;
    void slot.worker.terminate();
    this.dispatch();
  }
}

/**
 * The parent's node options for a worker started from a file: without those
 * that name the parent's own entry point (`-e`/`-p` code, `--input-type`),
 * which a worker inherits by default and then refuses to start with
 * (ERR_INPUT_TYPE_NOT_ALLOWED), so the library also works under `node -e`.
 */
export function workerExecArgv(argv: readonly string[]): string[] {
  const withValue = new Set(['-e', '--eval', '-p', '--print', '--input-type']);
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (withValue.has(arg)) {
      i++;
      continue;
    }
    if (/^--(input-type|eval|print)=/.test(arg)) continue;
    out.push(arg);
  }
  return out;
}

/**
 * The worker side: answers each request with `handler`'s result or error.
 * `transfer` names buffers of the result to move rather than copy.
 */
export function serve<Req, Res>(handler: (request: Req) => Res | Promise<Res>, transfer: (result: Res) => Transferable[] = () => []): void {
  const port = parentPort;
  if (!port) throw new Error('serve() must run in a worker thread');
  port.on('message', ({ id, request }: { id: number; request: Req }) => {
    void (async () => {
      let reply: Reply<Res>;
      let moved: Transferable[] = [];
      try {
        const value = await handler(request);
        moved = transfer(value);
        reply = { id, ok: true, value };
      } catch (err) {
        reply = { id, ok: false, error: serializeError(err) };
      }
      try {
        port.postMessage(reply, moved);
      } catch (err) {
        // A result that cannot be sent (not cloneable, a buffer listed twice
        // for transfer) must still settle its request, with the reason, not
        // kill the worker with an error the pool cannot name.
        port.postMessage({ id, ok: false, error: serializeError(new Error(`worker could not send its result: ${err instanceof Error ? err.message : String(err)}`)) });
      }
    })();
  });
}

/**
 * The buffers behind `views` that may be moved to another thread: those a
 * view covers whole (a view into a larger buffer, such as wasm memory,
 * would take the rest with it).
 */
export function wholeBuffers(views: readonly Uint8Array[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const v of views) {
    if (v.buffer instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && !out.includes(v.buffer)) out.push(v.buffer);
  }
  return out;
}
