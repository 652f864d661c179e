/**
 * `--progress-fd N`: task snapshots written to a file descriptor as JSON
 * Lines, bootc's protocol. The first line is `Start` with the protocol
 * version. At most 5 lines a second: a snapshot arriving sooner waits,
 * replacing any waiting snapshot of the same task (each is complete, so
 * nothing is lost but intermediate counts); `close` writes what waits, so
 * the last line of every task is its final state. A failing descriptor
 * (the reader went away) is reported once and the pull goes on without it.
 */
import { write } from 'node:fs';
import { promisify } from 'node:util';
import { UsageError } from '../../common/index.js';
import { canonicalJson, PROTOCOL_VERSION, type TaskEvent } from './protocol.js';

const writeAsync = promisify(write);

export const MIN_INTERVAL_MS = 200;

export function parseProgressFd(text: string): number {
  const fd = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(fd)) throw new UsageError(`--progress-fd: "${text}" is not a file descriptor number`);
  if (fd <= 2) throw new UsageError(`--progress-fd: cannot use fd ${fd} (0, 1 and 2 are the standard streams)`);
  return fd;
}

export class JsonlProgressWriter {
  readonly #fd: number;
  readonly #onError: (message: string) => void;
  /** Snapshots waiting for their turn, one per task, in arrival order. */
  readonly #waiting = new Map<string, TaskEvent>();
  #started = false;
  #lastWrite = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #chain: Promise<void> = Promise.resolve();
  #failed = false;

  constructor(fd: number, onError: (message: string) => void = (m) => process.stderr.write(`cfskit: ${m}\n`)) {
    this.#fd = fd;
    this.#onError = onError;
  }

  /** A TaskSink: pass `writer.sink` to a pull. */
  readonly sink = (event: TaskEvent): void => {
    if (this.#failed) return;
    this.#waiting.delete(keyOf(event));
    this.#waiting.set(keyOf(event), event);
    this.#schedule();
  };

  #schedule(): void {
    if (this.#timer !== undefined || this.#waiting.size === 0) return;
    const wait = this.#untilNextWrite();
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#writeNext();
      this.#schedule();
    }, wait);
  }

  /** Whole milliseconds (timers round down) until a write may happen. */
  #untilNextWrite(): number {
    const wait = this.#lastWrite + MIN_INTERVAL_MS - performance.now();
    return wait > 0 ? Math.ceil(wait) + 1 : 0;
  }

  #writeNext(): void {
    const first = this.#waiting.entries().next();
    if (first.done) return;
    const [key, event] = first.value;
    this.#waiting.delete(key);
    let text = `${canonicalJson(event)}\n`;
    if (!this.#started) {
      // Start goes out with the first event, in the same write.
      text = `${canonicalJson({ type: 'Start', version: PROTOCOL_VERSION })}\n${text}`;
      this.#started = true;
    }
    this.#lastWrite = performance.now();
    const bytes = Buffer.from(text);
    this.#chain = this.#chain.then(async () => {
      if (this.#failed) return;
      try {
        for (let done = 0; done < bytes.length; ) done += (await writeAsync(this.#fd, bytes, done, bytes.length - done)).bytesWritten;
      } catch (err) {
        this.#failed = true;
        this.#waiting.clear();
        this.#onError(`--progress-fd ${this.#fd}: ${err instanceof Error ? err.message : String(err)}; progress is no longer written there`);
      }
    });
  }

  /** Writes every waiting snapshot (keeping the rate), then resolves. */
  async close(): Promise<void> {
    while (this.#waiting.size > 0 && !this.#failed) {
      if (this.#timer !== undefined) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
      }
      const wait = this.#untilNextWrite();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.#writeNext();
    }
    await this.#chain;
  }
}

function keyOf(event: TaskEvent): string {
  return `${event.type}\0${event.task}\0${event.id}`;
}
