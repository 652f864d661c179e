/**
 * External references gathered for one `write-batch` call into the core,
 * each with the complete inline run before it: one call for many tar
 * entries instead of several per entry (each call's glue and copies cost
 * more than the work for a small entry). The same bytes reach the core's
 * encoder in the same order, so the stream is byte-identical.
 */

/** A batch is written once it holds this many references ... */
export const BATCH_REFS = 256;
/** ... or this many inline bytes. */
export const BATCH_INLINE_BYTES = 1 << 20;

export class RefBatch {
  readonly #digestSize: number;
  #inline: Buffer[] = [];
  #inlineBytes = 0;
  #lengths: number[] = [];
  #ids: Uint8Array[] = [];
  #sizes: number[] = [];

  constructor(digestSize: number) {
    this.#digestSize = digestSize;
  }

  get count(): number {
    return this.#sizes.length;
  }

  /** Whether it is time to write the batch. */
  get full(): boolean {
    return this.#sizes.length >= BATCH_REFS || this.#inlineBytes >= BATCH_INLINE_BYTES;
  }

  /** The inline run `run` (whole, possibly empty; kept, not copied), then a reference to `id` of `size` bytes. */
  add(run: readonly Buffer[], runBytes: number, id: Uint8Array, size: number): void {
    for (const piece of run) this.#inline.push(piece);
    this.#inlineBytes += runBytes;
    this.#lengths.push(runBytes);
    this.#ids.push(id);
    this.#sizes.push(size);
  }

  /** The batch as `write-batch` takes it; the batch is empty afterwards. */
  take(): { inline: Uint8Array; inlineLengths: BigUint64Array; objectIds: Uint8Array; sizes: BigUint64Array } {
    const n = this.#sizes.length;
    const objectIds = Buffer.concat(this.#ids, n * this.#digestSize);
    const taken = {
      inline: Buffer.concat(this.#inline, this.#inlineBytes),
      inlineLengths: BigUint64Array.from(this.#lengths, BigInt),
      objectIds,
      sizes: BigUint64Array.from(this.#sizes, BigInt),
    };
    this.#inline = [];
    this.#inlineBytes = 0;
    this.#lengths = [];
    this.#ids = [];
    this.#sizes = [];
    return taken;
  }
}
