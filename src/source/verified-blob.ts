/**
 * A blob checked while it streams: its size against its descriptor (a
 * byte too many fails at once) and, at its end, its digest. When a
 * consumer fails part-way (the gzip stream is corrupt, the tar inside is
 * damaged), `settle` reads the rest to tell whether the blob itself was
 * wrong, which is then the error to report.
 */
import { createHash, type Hash } from 'node:crypto';
import { InputError, IntegrityError, UnsupportedError } from '../../common/index.js';
import type { BlobDescriptor, ImageSource } from './image-source.js';

const ALGORITHMS: Record<string, string> = { sha256: 'sha256', sha512: 'sha512' };

export class VerifiedBlob implements AsyncIterable<Uint8Array> {
  readonly #inner: AsyncIterator<Uint8Array>;
  readonly #hash: Hash;
  readonly #expected: string;
  readonly #input: string;
  #size = 0;
  #ended = false;
  #closed = false;
  /** The source itself failed (a lost connection): not the blob's fault. */
  #sourceFailed = false;
  #failure: IntegrityError | undefined;

  constructor(
    source: AsyncIterable<Uint8Array>,
    private readonly descriptor: BlobDescriptor,
    /** Names the image in messages. */
    input: string,
    private readonly onBytes?: (bytesSoFar: number) => void,
  ) {
    const colon = descriptor.digest.indexOf(':');
    const algorithm = ALGORITHMS[descriptor.digest.slice(0, colon)];
    this.#input = `${input}: blob ${descriptor.digest}`;
    if (algorithm === undefined) throw new UnsupportedError(`${this.#input}: digest algorithm ${descriptor.digest.slice(0, colon)} is not supported`);
    this.#hash = createHash(algorithm);
    this.#expected = descriptor.digest.slice(colon + 1);
    this.#inner = source[Symbol.asyncIterator]();
  }

  get bytesRead(): number {
    return this.#size;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = await this.#next();
      if (chunk === undefined) return;
      yield chunk;
    }
  }

  async #next(): Promise<Uint8Array | undefined> {
    if (this.#failure) throw this.#failure;
    if (this.#ended) return undefined;
    let next: IteratorResult<Uint8Array>;
    try {
      next = await this.#inner.next();
    } catch (err) {
      this.#sourceFailed = true;
      this.#ended = true;
      throw err;
    }
    if (next.done) {
      this.#ended = true;
      this.#check();
      return undefined;
    }
    const chunk = next.value;
    this.#size += chunk.length;
    if (this.#size > this.descriptor.size) {
      this.#ended = true;
      this.#failure = new IntegrityError(this.#input, `is larger than the ${this.descriptor.size} bytes its descriptor says`);
      throw this.#failure;
    }
    this.#hash.update(chunk);
    this.onBytes?.(this.#size);
    return chunk;
  }

  #check(): void {
    if (this.#size < this.descriptor.size) {
      this.#failure = new IntegrityError(this.#input, `ended after ${this.#size} of its ${this.descriptor.size} bytes`);
      throw this.#failure;
    }
    const actual = this.#hash.digest('hex');
    if (actual !== this.#expected) {
      const alg = this.descriptor.digest.slice(0, this.descriptor.digest.indexOf(':'));
      this.#failure = new IntegrityError(this.#input, `its bytes have digest ${alg}:${actual}, not ${this.descriptor.digest}`);
      throw this.#failure;
    }
  }

  /**
   * After a consumer failed: the blob's own fault if it has one (reading
   * what is left of it to know), else undefined. Always releases the source.
   */
  async settle(): Promise<IntegrityError | undefined> {
    if (this.#sourceFailed) {
      await this.close();
      return undefined;
    }
    try {
      while ((await this.#next()) !== undefined) {
        // Only the digest is wanted now.
      }
    } catch (err) {
      if (err instanceof IntegrityError && err === this.#failure) return err;
      // The source itself failing (a lost connection) is not the blob's fault.
    } finally {
      await this.close();
    }
    return this.#failure;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#inner.return?.();
  }
}

/** An image config is a small JSON document; more than this is damage. */
export const MAX_CONFIG = 4 << 20;

/** The config blob `descriptor` names, read whole and checked against its digest. */
export async function readConfigBlob(source: ImageSource, descriptor: BlobDescriptor): Promise<Buffer> {
  if (descriptor.size > MAX_CONFIG) throw new InputError(source.name, `config ${descriptor.digest} is ${descriptor.size} bytes, more than a config may be`);
  const blob = new VerifiedBlob(source.blob(descriptor), descriptor, source.name);
  const chunks: Uint8Array[] = [];
  try {
    for await (const chunk of blob) chunks.push(chunk);
  } finally {
    await blob.close();
  }
  return Buffer.concat(chunks);
}
