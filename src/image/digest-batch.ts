/**
 * Digests of many small files in one job, so worker threads can hash a
 * tree's files while the main thread goes on scanning it. Files are read
 * whole into one reused buffer with synchronous calls: per file, the
 * promise API's thread-pool round trips would cost more than the hashing.
 */
import { closeSync, constants, openSync, readSync } from 'node:fs';
import { IntegrityError, systemError, type HashAlg } from '../../common/index.js';
import { digestBytes } from '../fsverity/index.js';

/** Files up to this size are digested in batches on worker threads during a scan. */
export const BATCH_FILE_MAX = 1 << 20;

export interface DigestBatch {
  readonly paths: Uint8Array[];
  readonly sizes: number[];
  readonly hashAlg: HashAlg;
}

function digestOne(path: Uint8Array, size: number, buffer: Buffer, hashAlg: HashAlg): Uint8Array {
  const file = Buffer.from(path.buffer, path.byteOffset, path.byteLength);
  const name = file.toString();
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    throw systemError(err, name, 'open');
  }
  try {
    let total = 0;
    for (;;) {
      const n = readSync(fd, buffer, total, buffer.length - total, total);
      if (n === 0 || (total += n) > size) break;
    }
    if (total !== size) throw new IntegrityError(name, `read ${total} bytes but the file had ${size} (it changed while being read)`);
    return digestBytes(buffer.subarray(0, size), { hashAlg });
  } catch (err) {
    throw systemError(err, name, 'read');
  } finally {
    closeSync(fd);
  }
}

/** `buffer` must hold BATCH_FILE_MAX + 1 bytes. */
export function digestBatch(job: DigestBatch, buffer: Buffer): Uint8Array[] {
  return job.paths.map((p, i) => digestOne(p, job.sizes[i] ?? 0, buffer, job.hashAlg));
}
