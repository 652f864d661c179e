/**
 * The `pulling` task of the progress stream, from what podman reports:
 * one subtask per layer blob, its id the blob's digest. With a plan every
 * layer is declared before the task begins (sizes from the manifest,
 * layers the store has as cached), so totals never change; podman's
 * reports then move the bytes (podman 5.9's libpod API and the
 * Docker-compatible API of older podman while a blob streams) or only
 * start and finish a blob (`podman pull`). Without a plan a layer is
 * declared when podman first names it. Reports about blobs that are not
 * layers (the config) are ignored; a blob podman finds present that the
 * plan did not expect is finished where it stands.
 */
import { ByteTask, type TaskSink } from '../progress/index.js';
import type { BlobReport } from '../podman/index.js';
import type { PullPlan } from './plan.js';

const hexOf = (digest: string): string => digest.slice(digest.indexOf(':') + 1);

export class PullingTask {
  readonly #task: ByteTask;
  /** Declared layer blobs, by digest. */
  readonly #layers = new Map<string, { readonly size: number }>();
  /** Layers that needed no fetch: declared cached, or found present by podman. */
  readonly #cached = new Set<string>();
  readonly #planned: boolean;

  constructor(identity: { description: string; id: string }, plan: PullPlan | undefined, sink: TaskSink | undefined) {
    this.#task = new ByteTask({ task: 'pulling', ...identity }, sink);
    this.#planned = plan !== undefined;
    for (const layer of plan?.layers ?? []) this.#declare(layer.digest, layer.size, layer.present);
    this.#task.begin();
  }

  #declare(digest: string, size: number, cached: boolean): void {
    if (this.#layers.has(digest)) return;
    this.#layers.set(digest, { size });
    if (cached) this.#cached.add(digest);
    this.#task.add(digest, `Layer ${digest.slice(0, 19)}`, size, { cached });
  }

  /** The declared layer podman means (a digest or a hex prefix of one). */
  #find(blob: string): string | undefined {
    const hex = hexOf(blob);
    if (hex.length < 12) return undefined;
    for (const digest of this.#layers.keys()) if (hexOf(digest).startsWith(hex)) return digest;
    return undefined;
  }

  readonly report = (report: BlobReport): void => {
    if (report.kind === 'layers-done') {
      this.complete();
      return;
    }
    if (report.kind !== 'started' && report.kind !== 'bytes' && report.kind !== 'done' && report.kind !== 'cached') return;
    let digest = this.#find(report.blob);
    if (digest === undefined && !this.#planned && report.blob.startsWith('sha256:') && report.kind === 'bytes' && report.total > 0) {
      // Without a plan only a full digest with a size makes a layer known.
      this.#declare(report.blob, report.total, false);
      digest = report.blob;
    }
    if (digest === undefined) return;
    switch (report.kind) {
      case 'started':
        this.#task.start(digest);
        break;
      case 'bytes':
        this.#task.advance(digest, report.current);
        break;
      case 'cached':
        this.#cached.add(digest);
        this.#task.complete(digest);
        break;
      case 'done':
        this.#task.complete(digest);
        break;
    }
  };

  /** Layer blobs, and how many of them needed no fetch. */
  counts(): { layers: number; present: number } {
    return { layers: this.#layers.size, present: this.#cached.size };
  }

  /** Every layer is in the store: the task ends complete. */
  complete(): void {
    for (const digest of this.#layers.keys()) this.#task.complete(digest);
  }

  /** Layers not known from a plan, declared at the end from the manifest the store has. */
  completeWith(layers: readonly { digest: string; size: number }[]): void {
    for (const layer of layers) this.#declare(layer.digest, layer.size, false);
    this.complete();
  }
}
