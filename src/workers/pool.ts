/**
 * A small pool of worker threads, each running one script that answers
 * requests (see `serve`). Workers start lazily, take the next queued request
 * when free, and are unref'd while idle so they never keep a process alive.
 */
import { Worker, parentPort } from 'node:worker_threads';
import { reviveError, serializeError, type SerializedError } from '../../common/index.js';

type Reply<Res> = { id: number; ok: true; value: Res } | { id: number; ok: false; error: SerializedError };

interface Task<Req, Res> {
  readonly id: number;
  readonly request: Req;
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

  constructor(
    private readonly script: URL,
    readonly size: number,
  ) {}

  run(request: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, request, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      const slot = this.slots.find((s) => s.task === undefined) ?? this.spawn();
      if (!slot) return;
      const task = this.queue.shift();
      if (!task) return;
      slot.task = task;
      slot.worker.ref();
      slot.worker.postMessage({ id: task.id, request: task.request });
    }
  }

  private spawn(): Slot<Req, Res> | undefined {
    if (this.slots.length >= this.size) return undefined;
    const slot: Slot<Req, Res> = { worker: new Worker(this.script), task: undefined };
    slot.worker.on('message', (reply: Reply<Res>) => this.settle(slot, reply));
    slot.worker.on('error', (err: Error) => this.fail(slot, err));
    slot.worker.on('exit', (code) => this.fail(slot, new Error(`worker thread exited with code ${code}`)));
    this.slots.push(slot);
    return slot;
  }

  private settle(slot: Slot<Req, Res>, reply: Reply<Res>): void {
    const task = slot.task;
    slot.task = undefined;
    slot.worker.unref();
    if (task && task.id === reply.id) {
      if (reply.ok) task.resolve(reply.value);
      else task.reject(reviveError(reply.error));
    }
    this.dispatch();
  }

  private fail(slot: Slot<Req, Res>, err: Error): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    this.slots.splice(index, 1);
    slot.task?.reject(err);
    slot.task = undefined;
    this.dispatch();
  }
}

/** The worker side: answers each request with `handler`'s result or error. */
export function serve<Req, Res>(handler: (request: Req) => Res | Promise<Res>): void {
  const port = parentPort;
  if (!port) throw new Error('serve() must run in a worker thread');
  port.on('message', ({ id, request }: { id: number; request: Req }) => {
    void (async () => {
      let reply: Reply<Res>;
      try {
        reply = { id, ok: true, value: await handler(request) };
      } catch (err) {
        reply = { id, ok: false, error: serializeError(err) };
      }
      port.postMessage(reply);
    })();
  });
}
