/**
 * The sha256 of a layer tar rebuilt from pieces that arrive out of step
 * with their reading: inline bytes in hand, and file contents behind open
 * descriptors that other work (storing the object) reads concurrently. The
 * digest takes them strictly in tar order: bytes are hashed at once while
 * nothing is queued, files are read (by position, 1 MiB at a time) by one
 * loop that runs alongside the import, and everything after a file waits in
 * the queue until that file is done. Memory is one read buffer plus the
 * queued inline bytes (bounded by the import's window of objects in flight).
 */
import { createHash } from 'node:crypto';
import { readFd, systemError } from '../../common/index.js';

const READ_SIZE = 1 << 20;

type Piece = { readonly bytes: Uint8Array } | { readonly fd: number; readonly size: number; readonly name: string; readonly done: () => void };

/** The algorithms OCI diff_ids use. */
export type TarDigestAlgorithm = 'sha256' | 'sha512';

export class TarDigest {
  readonly #hash;
  readonly #queue: Piece[] = [];
  #pump: Promise<void> | undefined;
  #failure: unknown;
  #buffer: Buffer | undefined;
  /** Bytes hashed so far. */
  size = 0;

  constructor(readonly algorithm: TarDigestAlgorithm = 'sha256') {
    this.#hash = createHash(algorithm);
  }

  /** The algorithm of a `sha256:`/`sha512:` digest, or undefined. */
  static algorithmOf(digest: string): TarDigestAlgorithm | undefined {
    return digest.startsWith('sha256:') ? 'sha256' : digest.startsWith('sha512:') ? 'sha512' : undefined;
  }

  /** Inline bytes of the tar (not kept: the caller may reuse its buffer only once this returns). */
  bytes(data: Uint8Array): void {
    if (data.length === 0) return;
    if (this.#pump === undefined) {
      this.#hash.update(data);
      this.size += data.length;
    } else {
      this.#queue.push({ bytes: Buffer.from(data) });
    }
  }

  /**
   * `size` bytes of content read from `fd` (from offset 0). Resolves once
   * they are hashed: the descriptor must stay open until then. A read that
   * fails or comes up short fails the digest (at `finish`), not this call.
   */
  file(fd: number, size: number, name: string): Promise<void> {
    return new Promise((resolve) => {
      this.#queue.push({ fd, size, name, done: resolve });
      this.#pump ??= this.#run();
    });
  }

  async #run(): Promise<void> {
    for (let piece = this.#queue.shift(); piece !== undefined; piece = this.#queue.shift()) {
      if ('bytes' in piece) {
        this.#hash.update(piece.bytes);
        this.size += piece.bytes.length;
        continue;
      }
      try {
        if (this.#failure === undefined) await this.#readFile(piece.fd, piece.size, piece.name);
      } catch (err) {
        this.#failure = err;
      } finally {
        piece.done();
      }
    }
    this.#pump = undefined;
  }

  async #readFile(fd: number, size: number, name: string): Promise<void> {
    const buffer = (this.#buffer ??= Buffer.allocUnsafe(READ_SIZE));
    for (let position = 0; position < size; ) {
      let n: number;
      try {
        n = await readFd(fd, buffer, 0, Math.min(buffer.length, size - position), position);
      } catch (err) {
        throw systemError(err, name, 'read');
      }
      if (n === 0) throw systemError(Object.assign(new Error(`ended after ${position} of ${size} bytes`), { code: 'EIO' }), name, 'read');
      this.#hash.update(buffer.subarray(0, n));
      position += n;
      this.size += n;
    }
  }

  /** `<algorithm>:<hex>` of everything given, once every queued file is read. */
  async finish(): Promise<string> {
    while (this.#pump !== undefined) await this.#pump;
    if (this.#failure !== undefined) throw this.#failure;
    return `${this.algorithm}:${this.#hash.digest('hex')}`;
  }
}
