/**
 * The inline bytes written since the last external reference. composefs-rs
 * stores such a run as one chunk whose length comes first, so the run must
 * be complete before its first byte can be compressed. Short runs (tar
 * headers, padding, small files) stay in memory; past `memoryLimit` the run
 * moves to a temp file, so a run of any length costs bounded memory.
 */
import { open, rm, type FileHandle } from 'node:fs/promises';
import { systemError, writeAll } from '../../common/index.js';

/** Largest piece handed on at a time (and read back from the spill file). */
export const PIECE_SIZE = 1 << 20;

export class InlineRun {
  readonly #memoryLimit: number;
  readonly #spillPath: string;
  #spill: FileHandle | undefined;
  #spilled = 0;
  #chunks: Buffer[] = [];
  #inMemory = 0;

  constructor(spillPath: string, memoryLimit: number) {
    this.#spillPath = spillPath;
    this.#memoryLimit = memoryLimit;
  }

  /** Bytes in the run. */
  get size(): number {
    return this.#spilled + this.#inMemory;
  }

  /** Appends a copy of `data` (the caller may reuse its buffer). */
  async add(data: Uint8Array): Promise<void> {
    if (data.length === 0) return;
    this.#chunks.push(Buffer.from(data));
    this.#inMemory += data.length;
    if (this.#inMemory > this.#memoryLimit) await this.#spillMemory();
  }

  async #spillMemory(): Promise<void> {
    try {
      this.#spill ??= await open(this.#spillPath, 'wx+', 0o600);
      const data = Buffer.concat(this.#chunks, this.#inMemory);
      await writeAll(this.#spill, data, this.#spilled);
    } catch (err) {
      throw systemError(err, this.#spillPath, 'write');
    }
    this.#spilled += this.#inMemory;
    this.#chunks = [];
    this.#inMemory = 0;
  }

  /**
   * The run's pieces, when it is all in memory (nothing spilled), and the
   * run left empty; undefined (the run untouched) when part of it is in
   * the temp file. The pieces are the run's own copies: the caller keeps them.
   */
  takeInMemory(): { readonly pieces: Buffer[]; readonly bytes: number } | undefined {
    if (this.#spilled > 0) return undefined;
    const taken = { pieces: this.#chunks, bytes: this.#inMemory };
    this.#chunks = [];
    this.#inMemory = 0;
    return taken;
  }

  /**
   * Hands the run to `sink` in order, in pieces of at most PIECE_SIZE,
   * and leaves it empty.
   */
  async drain(sink: (piece: Uint8Array) => Promise<void>): Promise<void> {
    if (this.#spill) {
      const buffer = Buffer.allocUnsafe(Math.min(PIECE_SIZE, Math.max(this.#spilled, 1)));
      for (let pos = 0; pos < this.#spilled; ) {
        let got: number;
        try {
          ({ bytesRead: got } = await this.#spill.read(buffer, 0, Math.min(buffer.length, this.#spilled - pos), pos));
        } catch (err) {
          throw systemError(err, this.#spillPath, 'read');
        }
        if (got === 0) throw systemError(new Error(`temp file ended at byte ${pos} of ${this.#spilled}`), this.#spillPath, 'read');
        await sink(buffer.subarray(0, got));
        pos += got;
      }
      this.#spilled = 0;
      await this.#spill.truncate(0).catch((err: unknown) => {
        throw systemError(err, this.#spillPath, 'ftruncate');
      });
    }
    const data = Buffer.concat(this.#chunks, this.#inMemory);
    this.#chunks = [];
    this.#inMemory = 0;
    for (let pos = 0; pos < data.length; pos += PIECE_SIZE) {
      await sink(data.subarray(pos, pos + PIECE_SIZE));
    }
  }

  /** Drops the run and its temp file. */
  async dispose(): Promise<void> {
    this.#chunks = [];
    this.#inMemory = 0;
    const spill = this.#spill;
    this.#spill = undefined;
    await spill?.close().catch(() => undefined);
    if (spill) await rm(this.#spillPath, { force: true });
  }
}
