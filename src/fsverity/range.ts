/**
 * Hashing one aligned range of an open file up to a tree level: the unit of
 * work of a parallel digest, run inside a worker thread.
 */
import { readSync } from 'node:fs';
import { fsverity, withInput } from '../core/wasm.js';
import { IntegrityError } from '../errors.js';
import type { VerityParams } from './params.js';

export const READ_CHUNK = 4 << 20;

export interface RangeJob {
  readonly path: string;
  readonly fd: number;
  readonly start: number;
  readonly end: number;
  readonly height: number;
  readonly params: VerityParams;
}

export function hashRange(job: RangeJob, buffer: Buffer): Uint8Array {
  const hasher = withInput(job.path, () => fsverity.RangeHasher.create(job.params.core, job.height));
  try {
    for (let pos = job.start; pos < job.end; ) {
      const want = Math.min(buffer.length, job.end - pos);
      const got = readSync(job.fd, buffer, 0, want, pos);
      if (got === 0) {
        throw new IntegrityError(job.path, `file ended at byte ${pos}, expected ${job.end} bytes or more (it changed while being read)`);
      }
      hasher.update(buffer.subarray(0, got));
      pos += got;
    }
    return hasher.finish();
  } finally {
    hasher[Symbol.dispose]();
  }
}
