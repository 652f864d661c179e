/**
 * Writing a splitstream file, byte-identical to what composefs-rs writes
 * for the same calls (so it gets the same object ID).
 *
 * Memory stays bounded whatever the amount of data: the wasm core
 * compresses as data arrives and its output is appended to a temp file; a
 * long inline run waits in a temp file too (see InlineRun). Only the ref
 * arrays grow, with the number of references. `finish()` writes the
 * complete file (header, info, refs, named refs, then the compressed
 * stream) under a temp name in `tmpDir` and returns its path: the caller
 * digests it and moves it into the repository.
 */
import { randomBytes } from 'node:crypto';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { type CoreSplitstreamWriter as CoreWriter, coreMessage, splitstream } from '../core/index.js';
import { CfskitError, IntegrityError, UsageError, systemError, type HashAlg, isHashAlg, writeAll, HASH_ALG_INFO } from '../../common/index.js';
import { InlineRun, PIECE_SIZE } from './inline-run.js';
import { RefBatch } from './ref-batch.js';

export interface SplitstreamWriterOptions {
  readonly hashAlg: HashAlg;
  readonly contentType: bigint;
  /** Where the temp files and the finished file go (the repository's tmp dir). */
  readonly tmpDir: string;
  /** Inline bytes of one run held in memory before it moves to a temp file; default 1 MiB. */
  readonly inlineMemoryLimit?: number;
}

export interface FinishedSplitstream {
  /** The complete splitstream file, a temp name in `tmpDir`; now the caller's. */
  readonly path: string;
  readonly size: number;
}

const DEFAULT_INLINE_MEMORY = 1 << 20;

/** Runs a writer call; the core only fails on caller mistakes here. */
function usage<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw new UsageError(coreMessage(err), { cause: err });
  }
}

export class SplitstreamWriter {
  readonly #core: CoreWriter;
  readonly #digestSize: number;
  readonly #base: string;
  readonly #run: InlineRun;
  /** References (with the runs before them) not yet given to the core. */
  readonly #batch: RefBatch;
  #stream: FileHandle | undefined;
  #streamBytes = 0;
  #finalPath: string | undefined;
  #state: 'open' | 'finishing' | 'done' = 'open';
  #cleaned = false;
  /** Calls run one after another in call order, even if not awaited. */
  #queue: Promise<void> = Promise.resolve();

  constructor(options: SplitstreamWriterOptions) {
    const { hashAlg, contentType, tmpDir } = options;
    if (!isHashAlg(hashAlg)) throw new UsageError(`unknown hash algorithm "${String(hashAlg)}" (expected sha256 or sha512)`);
    if (typeof contentType !== 'bigint' || BigInt.asUintN(64, contentType) !== contentType) {
      throw new UsageError(`splitstream content type must be a u64 bigint, got ${String(contentType)}`);
    }
    const limit = options.inlineMemoryLimit ?? DEFAULT_INLINE_MEMORY;
    if (!Number.isSafeInteger(limit) || limit < 0) throw new UsageError(`invalid inlineMemoryLimit ${limit}`);
    this.#core = usage(() => splitstream.Writer.create(hashAlg, contentType));
    this.#digestSize = HASH_ALG_INFO[hashAlg].digestSize;
    this.#base = join(tmpDir, `.cfskit-splitstream-${randomBytes(8).toString('hex')}`);
    this.#run = new InlineRun(`${this.#base}.inline`, limit);
    this.#batch = new RefBatch(this.#digestSize);
  }

  #enqueue(op: () => Promise<void>): Promise<void> {
    if (this.#state !== 'open') return Promise.reject(new UsageError('splitstream writer is already finished or aborted'));
    const next = this.#queue.then(op);
    // A failed call fails the writer: later calls report the same error.
    this.#queue = next;
    return next;
  }

  /** Appends inline bytes (copied; adjacent calls become one chunk). */
  writeInline(data: Uint8Array): Promise<void> {
    return this.#enqueue(() => this.#run.add(data));
  }

  /** References an object the caller already stored: its ID and byte size. */
  writeExternal(objectId: Uint8Array, size: number): Promise<void> {
    if (!Number.isSafeInteger(size) || size < 0) {
      return Promise.reject(new UsageError(`invalid external object size ${size}`));
    }
    if (objectId.length !== this.#digestSize) {
      return Promise.reject(new UsageError(`object ID is ${objectId.length} bytes, expected ${this.#digestSize}`));
    }
    const id = Uint8Array.from(objectId);
    return this.#enqueue(async () => {
      const run = this.#run.takeInMemory();
      if (run) {
        this.#batch.add(run.pieces, run.bytes, id, size);
      } else {
        // A run too long for memory goes to the core piece by piece from its temp file.
        await this.#flushBatch();
        await this.#flushRun();
        this.#batch.add([], 0, id, size);
      }
      if (this.#batch.full) await this.#flushBatch();
    });
  }

  /** Gives the gathered references to the core in one call and writes what it compressed. */
  async #flushBatch(): Promise<void> {
    if (this.#batch.count === 0) return;
    const { inline, inlineLengths, objectIds, sizes } = this.#batch.take();
    await this.#append(usage(() => this.#core.writeBatch(inline, inlineLengths, objectIds, sizes)));
  }

  /**
   * Names another stream (e.g. a layer by its diff_id). The order of these
   * calls decides the stream_refs order, not their place among the writes.
   */
  addNamedRef(name: string, streamId: Uint8Array): void {
    if (this.#state !== 'open') throw new UsageError('splitstream writer is already finished or aborted');
    usage(() => this.#core.addNamedRef(name, Uint8Array.from(streamId)));
  }

  /** The current run as one chunk (after the batch, which comes before it). */
  async #flushRun(): Promise<void> {
    await this.#flushBatch();
    if (this.#run.size === 0) return;
    usage(() => this.#core.beginInline(BigInt(this.#run.size)));
    await this.#run.drain(async (piece) => {
      usage(() => this.#core.inlineData(piece));
      await this.#drain();
    });
  }

  /** Appends the core's compressed output to the stream temp file. */
  async #drain(): Promise<void> {
    await this.#append(this.#core.takeOutput());
  }

  async #append(out: Uint8Array): Promise<void> {
    if (out.length === 0) return;
    const path = `${this.#base}.stream`;
    try {
      this.#stream ??= await open(path, 'wx+', 0o600);
      await writeAll(this.#stream, out, this.#streamBytes);
    } catch (err) {
      throw systemError(err, path, 'write');
    }
    this.#streamBytes += out.length;
  }

  /** Writes the complete file and returns where; the writer is done. */
  async finish(): Promise<FinishedSplitstream> {
    if (this.#state !== 'open') throw new UsageError('splitstream writer is already finished or aborted');
    // From here on, calls made after finish() are refused, not queued behind it.
    this.#state = 'finishing';
    let result: FinishedSplitstream | undefined;
    const finishing = this.#queue.then(async () => {
      await this.#flushRun();
      const finished = usage(() => this.#core.finish());
      const path = `${this.#base}.final`;
      this.#finalPath = path;
      let file: FileHandle | undefined;
      try {
        // Published as the stream's object, possibly by hard link: the mode
        // objects have (composefs-rs: 0644), so others may read the repository.
        file = await open(path, 'wx', 0o644);
        await writeAll(file, finished.prefix, 0);
        let at = finished.prefix.length;
        at += await this.#copyStream(file, at);
        await writeAll(file, finished.tail, at);
        at += finished.tail.length;
        if (BigInt(at) !== finished.fileSize) {
          throw new IntegrityError(path, `wrote ${at} bytes, but the splitstream should be ${finished.fileSize}`);
        }
        result = { path, size: at };
      } catch (err) {
        throw err instanceof CfskitError ? err : systemError(err, path, 'write');
      } finally {
        await file?.close();
      }
    });
    this.#queue = finishing;
    try {
      await finishing;
    } catch (err) {
      await this.abort();
      throw err;
    }
    await this.#cleanTemps();
    this.#state = 'done';
    if (!result) throw new UsageError('splitstream writer finished without a result');
    return result;
  }

  /** Copies the compressed stream temp file into `file` at `position`. */
  async #copyStream(file: FileHandle, position: number): Promise<number> {
    if (!this.#stream) return 0;
    const buffer = Buffer.allocUnsafe(Math.min(PIECE_SIZE, Math.max(this.#streamBytes, 1)));
    for (let pos = 0; pos < this.#streamBytes; ) {
      const { bytesRead } = await this.#stream.read(buffer, 0, Math.min(buffer.length, this.#streamBytes - pos), pos);
      if (bytesRead === 0) throw new IntegrityError(`${this.#base}.stream`, `temp file ended at byte ${pos} of ${this.#streamBytes}`);
      await writeAll(file, buffer.subarray(0, bytesRead), position + pos);
      pos += bytesRead;
    }
    return this.#streamBytes;
  }

  async #cleanTemps(): Promise<void> {
    if (this.#cleaned) return;
    this.#cleaned = true;
    const stream = this.#stream;
    this.#stream = undefined;
    await stream?.close().catch(() => undefined);
    await rm(`${this.#base}.stream`, { force: true });
    await this.#run.dispose();
    this.#core[Symbol.dispose]();
  }

  /**
   * Gives up: removes every temp file, and the finished file if finish()
   * failed half way. After a successful finish() the file is the caller's
   * and abort() leaves it alone.
   */
  async abort(): Promise<void> {
    if (this.#state === 'done') return;
    this.#state = 'done';
    await this.#queue.catch(() => undefined);
    await this.#cleanTemps();
    if (this.#finalPath) await rm(this.#finalPath, { force: true });
  }
}
