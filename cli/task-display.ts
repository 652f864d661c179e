/**
 * A pull's progress on a terminal, from its task snapshots: one line per
 * layer with a bar and its bytes (present layers say so), redrawn in
 * place at most ten times a second, then the import's steps, then one
 * summary line.
 */
import type { TaskEvent } from '../src/progress/index.js';

const WIDTH = 24;
const MiB = 2 ** 20;

function bar(done: number, total: number): string {
  const filled = total > 0 ? Math.round(Math.min(1, done / total) * WIDTH) : WIDTH;
  return `${'█'.repeat(filled)}${'░'.repeat(WIDTH - filled)}`;
}

const mib = (n: number): string => (n / MiB).toFixed(1);

export class TaskDisplay {
  #lines = 0;
  #task = '';
  #last = 0;
  #latest: TaskEvent | undefined;
  readonly #started = performance.now();

  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  readonly sink = (event: TaskEvent, required: boolean): void => {
    this.#latest = event;
    const now = performance.now();
    if (!required && now - this.#last < 100) return;
    this.#last = now;
    this.#draw(event);
  };

  #draw(event: TaskEvent): void {
    const lines: string[] = [];
    if (event.type === 'ProgressBytes') {
      for (const s of event.subtasks) {
        const state = s.bytesCached > 0 ? 'present' : `${mib(s.bytes)}/${mib(s.bytesTotal)} MiB`;
        lines.push(`${s.id.slice(0, 19)} ${bar(s.bytes, s.bytesTotal)} ${state}`);
      }
    } else {
      lines.push(`${event.task}: ${event.subtasks.map((s) => `${s.description} ${s.completed ? '✓' : '…'}`).join(', ')}`);
    }
    // A new task starts below the last one's final state.
    const task = `${event.type}:${event.task}`;
    if (task !== this.#task) this.#lines = 0;
    this.#task = task;
    let text = this.#lines > 0 ? `\x1b[${this.#lines}A` : '';
    text += lines.map((l) => `\r\x1b[K${l}\n`).join('');
    this.out.write(text);
    this.#lines = lines.length;
  }

  /** Seconds since the display began. */
  get seconds(): string {
    return ((performance.now() - this.#started) / 1000).toFixed(1);
  }

  /** The last state drawn, and the summary line (none after a failure). */
  finish(summary: string | undefined): void {
    if (this.#latest) this.#draw(this.#latest);
    if (summary !== undefined) this.out.write(`${summary}\n`);
  }
}
