/**
 * Tasks that report progress as protocol snapshots: a byte-counted task
 * with one subtask per layer (`pulling`), and a task of discrete steps.
 * As bootc counts them: layers already present are cached (bytesCached,
 * stepsCached) and complete from the start; bytes, bytesTotal, steps and
 * stepsTotal count the rest. Counters only ever go up. Updates within a
 * layer are passed on at most every 100 ms; a layer's start, end or being
 * found cached always are.
 */
import type { ProgressBytesEvent, ProgressStepsEvent, SubTaskBytes, SubTaskStep, TaskSink } from './protocol.js';

export const TASK_INTERVAL_MS = 100;

interface ByteSubtask {
  readonly subtask: string;
  readonly description: string;
  readonly id: string;
  readonly total: number;
  readonly cached: boolean;
  bytes: number;
  done: boolean;
}

export interface TaskIdentity {
  /** Machine-readable task name (`pulling`, `importing`). */
  readonly task: string;
  readonly description: string;
  readonly id: string;
}

export class ByteTask {
  readonly #subtasks = new Map<string, ByteSubtask>();
  #last = -Infinity;

  constructor(
    private readonly identity: TaskIdentity,
    private readonly sink: TaskSink | undefined,
  ) {}

  /**
   * Declares a subtask of `total` bytes; `cached` when it needs no work (a
   * previous run fetched it). All are declared before `begin`, so that
   * totals never change once reported.
   */
  add(id: string, description: string, total: number, options: { cached?: boolean; subtask?: string } = {}): void {
    if (this.#subtasks.has(id)) return;
    const cached = options.cached === true;
    this.#subtasks.set(id, { subtask: options.subtask ?? 'layer', description, id, total, cached, bytes: cached ? total : 0, done: cached });
  }

  /** Reports the task as declared. */
  begin(): void {
    this.#emit(true);
  }

  /** A subtask begins (its bar appears at 0). */
  start(id: string): void {
    this.#get(id);
    this.#emit(true);
  }

  /** `bytes` of the subtask are done so far (never more than its total). */
  advance(id: string, bytes: number): void {
    const s = this.#get(id);
    if (s.done) return;
    const clamped = Math.min(s.total, Math.max(s.bytes, bytes));
    if (clamped === s.bytes) return;
    s.bytes = clamped;
    if (performance.now() - this.#last >= TASK_INTERVAL_MS) this.#emit(false);
  }

  complete(id: string): void {
    const s = this.#get(id);
    if (s.done) return;
    s.bytes = s.total;
    s.done = true;
    this.#emit(true);
  }

  snapshot(): ProgressBytesEvent {
    let bytesCached = 0;
    let bytes = 0;
    let bytesTotal = 0;
    let stepsCached = 0;
    let steps = 0;
    let stepsTotal = 0;
    const subtasks: SubTaskBytes[] = [];
    for (const s of this.#subtasks.values()) {
      if (s.cached) {
        bytesCached += s.total;
        stepsCached++;
      } else {
        bytes += s.bytes;
        bytesTotal += s.total;
        stepsTotal++;
        if (s.done) steps++;
      }
      subtasks.push({
        subtask: s.subtask,
        description: s.description,
        id: s.id,
        bytesCached: s.cached ? s.total : 0,
        bytes: s.bytes,
        bytesTotal: s.total,
      });
    }
    return { type: 'ProgressBytes', ...this.identity, bytesCached, bytes, bytesTotal, stepsCached, steps, stepsTotal, subtasks };
  }

  #get(id: string): ByteSubtask {
    const s = this.#subtasks.get(id);
    if (!s) throw new Error(`progress: no subtask ${id} was declared`);
    return s;
  }

  #emit(required: boolean): void {
    if (!this.sink) return;
    this.#last = performance.now();
    this.sink(this.snapshot(), required);
  }
}

export class StepTask {
  readonly #steps: { subtask: string; description: string; id: string; completed: boolean; cached: boolean }[] = [];

  constructor(
    private readonly identity: TaskIdentity,
    private readonly sink: TaskSink | undefined,
  ) {}

  add(id: string, description: string, subtask = id): void {
    if (!this.#steps.some((s) => s.id === id)) this.#steps.push({ subtask, description, id, completed: false, cached: false });
  }

  /** Reports the task with nothing done yet. */
  begin(): void {
    this.sink?.(this.snapshot(), true);
  }

  /** The step is done; `cached` when there was nothing to do. */
  complete(id: string, cached = false): void {
    const step = this.#steps.find((s) => s.id === id);
    if (!step || step.completed) return;
    step.completed = true;
    step.cached = cached;
    this.sink?.(this.snapshot(), true);
  }

  snapshot(): ProgressStepsEvent {
    const subtasks: SubTaskStep[] = this.#steps.map(({ subtask, description, id, completed }) => ({ subtask, description, id, completed }));
    const stepsCached = this.#steps.filter((s) => s.cached).length;
    const steps = this.#steps.filter((s) => s.completed && !s.cached).length;
    return { type: 'ProgressSteps', ...this.identity, stepsCached, steps, stepsTotal: this.#steps.length, subtasks };
  }
}
