/**
 * A layer file's content checked against what tar-split recorded for it:
 * its size and its CRC-64 (Go's crc64 ISO table, computed in the wasm core).
 */
import { IntegrityError, systemError, type HashAlg, readFd } from '../../common/index.js';
import { tarsplit } from '../core/index.js';
import { IMPORT_PARALLEL_THRESHOLD, digestFile, readChunks } from '../fsverity/index.js';

export const READ_CHUNK = 1 << 20;

/** What a check needs to know about a file entry. */
export interface ContentClaim {
  /** Label for errors: `layer 3f2a…: tar-split entry 17`. */
  readonly input: string;
  readonly displayName: string;
  readonly size: number;
  readonly crc64: bigint;
}

const hex = (v: bigint): string => v.toString(16).padStart(16, '0');

/** Feed the content in order, then `finish()`; throws an IntegrityError on a mismatch. */
export class ContentCheck {
  readonly #claim: ContentClaim;
  readonly #crc = tarsplit.Crc64.create();
  #bytes = 0;

  constructor(claim: ContentClaim) {
    this.#claim = claim;
  }

  update(bytes: Uint8Array): void {
    this.#crc.update(bytes);
    this.#bytes += bytes.length;
  }

  finish(): void {
    const { input, displayName, size, crc64 } = this.#claim;
    try {
      if (this.#bytes !== size) {
        throw new IntegrityError(input, `read ${this.#bytes} bytes of ${displayName}, expected ${size} (it changed while being read)`);
      }
      const got = this.#crc.value();
      if (got !== crc64) {
        throw new IntegrityError(input, `CRC64 mismatch for ${displayName} (diff/ has ${hex(got)}, tar-split says ${hex(crc64)})`);
      }
    } finally {
      this.#crc[Symbol.dispose]();
    }
  }
}

/** Checks bytes already read whole (one call into the core). */
export function checkContent(claim: ContentClaim, data: Uint8Array): void {
  const { input, displayName, size, crc64 } = claim;
  if (data.length !== size) {
    throw new IntegrityError(input, `read ${data.length} bytes of ${displayName}, expected ${size} (it changed while being read)`);
  }
  const got = tarsplit.crc64Checksum(data);
  if (got !== crc64) {
    throw new IntegrityError(input, `CRC64 mismatch for ${displayName} (diff/ has ${hex(got)}, tar-split says ${hex(crc64)})`);
  }
}

/**
 * Reads `size` bytes from the start of an open file, in chunks of fresh
 * buffers (they may be queued downstream), checking them as they pass.
 * `path` names the file in read errors.
 */
export async function* readContent(claim: ContentClaim, fd: number, path: string, chunkSize = READ_CHUNK): AsyncGenerator<Buffer> {
  const check = new ContentCheck(claim);
  for (let position = 0; position < claim.size; ) {
    const buffer = Buffer.allocUnsafe(Math.min(chunkSize, claim.size - position));
    let bytesRead: number;
    try {
      bytesRead = await readFd(fd, buffer, 0, buffer.length, position);
    } catch (err) {
      throw systemError(err, path, 'read');
    }
    if (bytesRead === 0) break;
    const chunk = bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
    check.update(chunk);
    position += bytesRead;
    yield chunk;
  }
  check.finish();
}

/** What the object store's `verify` hook is shown of a source (see ContentVerifier in src/repository). */
export interface VerifiedSource {
  readonly fd: number;
  readonly name: string;
  readonly content: Uint8Array | undefined;
  /** Set when the store wants the digest too: computed here in the same read. */
  readonly digest: HashAlg | undefined;
}

/**
 * The object store's `verify` hook for one layer file: its size and CRC-64
 * against the tar-split record, read once together with the fs-verity
 * digest when the store asks for it (an insecure repository), or alone (a
 * secure one, where the kernel measures).
 */
export function tarSplitVerifier(claim: ContentClaim): (source: VerifiedSource) => Promise<string | undefined> {
  return async (source) => {
    if (source.content) {
      checkContent(claim, source.content);
      return undefined;
    }
    if (source.digest) {
      const d = await digestFile(source.fd, { hashAlg: source.digest, parallelThreshold: IMPORT_PARALLEL_THRESHOLD, crc64: true }, source.name);
      checkSums(claim, d.size, d.crc64 ?? 0n);
      return d.hex;
    }
    const check = new ContentCheck(claim);
    for await (const chunk of readChunks(source.fd, source.name, 0, claim.size)) check.update(chunk);
    check.finish();
    return undefined;
  };
}

/** Throws the IntegrityError for a content of `size` bytes and CRC-64 `crc64` that is not what `claim` says. */
export function checkSums(claim: ContentClaim, size: number, crc64: bigint): void {
  const { input, displayName } = claim;
  if (size !== claim.size) throw new IntegrityError(input, `read ${size} bytes of ${displayName}, expected ${claim.size} (it changed while being read)`);
  if (crc64 !== claim.crc64) throw new IntegrityError(input, `CRC64 mismatch for ${displayName} (diff/ has ${hex(crc64)}, tar-split says ${hex(claim.crc64)})`);
}
