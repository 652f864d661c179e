/**
 * bootc's progress protocol (`bootc upgrade --progress-fd`, version
 * 0.1.0, `crates/lib/src/progress_jsonl.rs`): JSON Lines events a caller
 * relays to its own display. The types here are that protocol's, field
 * for field; every snapshot is complete, so a later one supersedes an
 * earlier one of the same task.
 */

export const PROTOCOL_VERSION = '0.1.0';

/** One byte-counted part of a task (a layer). Complete when bytes == bytesTotal. */
export interface SubTaskBytes {
  /** Machine-readable kind (`layer`). */
  readonly subtask: string;
  readonly description: string;
  /** The layer's digest. */
  readonly id: string;
  /** Bytes a previous run already fetched. */
  readonly bytesCached: number;
  readonly bytes: number;
  readonly bytesTotal: number;
}

/** One discrete step of a task; `completed` turns true once. */
export interface SubTaskStep {
  readonly subtask: string;
  readonly description: string;
  readonly id: string;
  readonly completed: boolean;
}

export interface StartEvent {
  readonly type: 'Start';
  readonly version: string;
}

export interface ProgressBytesEvent {
  readonly type: 'ProgressBytes';
  /** Machine-readable task (`pulling`, `importing`). */
  readonly task: string;
  readonly description: string;
  /** The task's unique id (the image's manifest digest). */
  readonly id: string;
  readonly bytesCached: number;
  readonly bytes: number;
  /** 0 means unknown. */
  readonly bytesTotal: number;
  readonly stepsCached: number;
  readonly steps: number;
  readonly stepsTotal: number;
  readonly subtasks: readonly SubTaskBytes[];
}

export interface ProgressStepsEvent {
  readonly type: 'ProgressSteps';
  readonly task: string;
  readonly description: string;
  readonly id: string;
  readonly stepsCached: number;
  readonly steps: number;
  readonly stepsTotal: number;
  readonly subtasks: readonly SubTaskStep[];
}

/** What a task reports: the union the library hands to its callers. */
export type TaskEvent = ProgressBytesEvent | ProgressStepsEvent;
export type ProtocolEvent = StartEvent | TaskEvent;

/**
 * Receives every snapshot of a task. `required` marks those that must
 * reach a relaying writer (a subtask started, finished or was found
 * cached); the others may be dropped when they come too fast.
 */
export type TaskSink = (event: TaskEvent, required: boolean) => void;

/** JSON with keys sorted at every level, as bootc's canon_json writes it. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
