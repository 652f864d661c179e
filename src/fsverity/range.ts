/**
 * Hashing one aligned range of an open file up to a tree level: the unit of
 * work of a parallel digest, run inside a worker thread.
 */
import { fsverity, withInput } from '../core/wasm.js';
import type { VerityParams } from './params.js';
import { readChunks } from './reader.js';

export interface RangeJob {
  readonly path: string;
  readonly fd: number;
  readonly start: number;
  readonly end: number;
  readonly height: number;
  readonly params: VerityParams;
}

export async function hashRange(job: RangeJob): Promise<Uint8Array> {
  const hasher = withInput(job.path, () => fsverity.RangeHasher.create(job.params.core, job.height));
  try {
    for await (const chunk of readChunks(job.fd, job.path, job.start, job.end)) hasher.update(chunk);
    return hasher.finish();
  } finally {
    hasher[Symbol.dispose]();
  }
}
