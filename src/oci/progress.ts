/**
 * Import progress as events: a bar on a terminal, JSON lines for programs
 * that relay it (bootc-like callers), or nothing.
 */
export interface ProgressEvent {
  /**
   * `layer` while a layer's files are stored, then `config`, `manifest`,
   * `image` (the composefs image is made), `done`.
   */
  readonly stage: 'layer' | 'config' | 'manifest' | 'image' | 'done';
  /** The layer's diff_id (layer stage). */
  readonly layer?: string;
  /** Position of the layer in the image, from 1, and how many there are. */
  readonly index?: number;
  readonly count?: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  /** The layer was already in the repository. */
  readonly skipped?: boolean;
}

export type ProgressSink = (event: ProgressEvent) => void;

/** Layer progress is reported at most this often; stage changes always are. */
export const PROGRESS_INTERVAL_MS = 100;

/**
 * Rate-limits `sink` for the many small steps inside a stage: a layer of
 * 30 000 files would otherwise mean 60 000 events, more than any terminal
 * or relaying caller wants. `final` reports unconditionally (a stage's end).
 */
export function throttle(sink: ProgressSink | undefined, intervalMs = PROGRESS_INTERVAL_MS): { step: ProgressSink; final: ProgressSink } {
  let last = -Infinity;
  const final: ProgressSink = (event) => {
    last = performance.now();
    sink?.(event);
  };
  const step: ProgressSink = (event) => {
    if (sink === undefined || performance.now() - last < intervalMs) return;
    final(event);
  };
  return { step, final };
}
