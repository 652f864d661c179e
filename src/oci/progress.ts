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
