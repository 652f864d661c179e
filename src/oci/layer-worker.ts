/**
 * Worker thread entry: one layer at a time (see layer-thread.ts for the
 * protocol). The blob's bytes arrive as `data` messages and are taken as the
 * work needs them (each acknowledged with `consumed`, so the main thread
 * sends only a bounded amount ahead); batches go back with at most
 * MAX_UNACKED not yet processed by the main thread.
 */
import { parentPort } from 'node:worker_threads';
import { serializeError } from '../../common/index.js';
import { writeToTarget } from '../repository/index.js';
import { runLayerWork, settleBatch, type LayerWorkJob, type ObjectStoreFn, type PendingBatch } from './layer-work.js';
import type { ToMain, ToWorker } from './layer-thread.js';

const MAX_UNACKED = 4;

const port = parentPort;
if (!port) throw new Error('layer-worker must run in a worker thread');
const send = (message: ToMain, transfer: ArrayBuffer[] = []): void => port.postMessage(message, transfer);

/** The blob's chunks as they arrive; `end` closes the stream. */
class Inbox implements AsyncIterable<Uint8Array> {
  readonly #chunks: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | undefined;

  push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#wake?.();
  }

  end(): void {
    this.#ended = true;
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk !== undefined) {
        send({ t: 'consumed', bytes: chunk.length });
        yield chunk;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((resolve) => (this.#wake = resolve));
      this.#wake = undefined;
    }
  }
}

interface Session {
  readonly inbox: Inbox;
  unacked: number;
  resume: (() => void) | undefined;
}

let session: Session | undefined;

async function start(job: LayerWorkJob): Promise<void> {
  const current: Session = { inbox: new Inbox(), unacked: 0, resume: undefined };
  session = current;
  // Batches go out in order, each once its objects are stored (its memory is read until then).
  let sending: Promise<void> = Promise.resolve();
  const emit = async (pending: PendingBatch): Promise<void> => {
    while (current.unacked >= MAX_UNACKED) await new Promise<void>((resolve) => (current.resume = resolve));
    current.unacked++;
    const next = sending.then(async () => {
      const batch = await settleBatch(pending);
      const moved = [batch.bytes.buffer, batch.records.buffer].filter((b): b is ArrayBuffer => b instanceof ArrayBuffer);
      send({ t: 'batch', batch }, moved);
    });
    // A failed store fails the layer (below); later batches are not sent.
    next.catch(() => undefined);
    sending = next;
  };
  const target = job.writeTo;
  const store: ObjectStoreFn | undefined = target ? (content, id) => writeToTarget(target, content, id) : undefined;
  try {
    await runLayerWork(job, current.inbox, emit, store);
    await sending;
    send({ t: 'done' });
  } catch (err) {
    send({ t: 'error', error: serializeError(err) });
  } finally {
    if (session === current) session = undefined;
  }
}

port.on('message', (message: ToWorker) => {
  switch (message.t) {
    case 'start':
      void start(message.job);
      return;
    case 'data':
      session?.inbox.push(message.bytes);
      return;
    case 'end':
      session?.inbox.end();
      return;
    case 'ack':
      if (session) {
        session.unacked--;
        const resume = session.resume;
        session.resume = undefined;
        resume?.();
      }
      return;
  }
});
