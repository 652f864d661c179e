/**
 * Hashing one aligned range of an open file up to a tree level: the unit of
 * work of a parallel digest, run inside a worker thread. Optionally the
 * range's CRC-64 (tar-split's checksum) from the same read.
 */
import { fsverity, tarsplit, withInput } from '../core/index.js';
import type { VerityParams } from './params.js';
import { readChunks } from './reader.js';

export interface RangeJob {
  readonly path: string;
  readonly fd: number;
  readonly start: number;
  readonly end: number;
  readonly height: number;
  readonly params: VerityParams;
  readonly crc64: boolean;
}

export interface RangeResult {
  readonly entries: Uint8Array;
  readonly crc64: bigint | undefined;
}

export async function hashRange(job: RangeJob): Promise<RangeResult> {
  const hasher = withInput(job.path, () => fsverity.RangeHasher.create(job.params.core, job.height));
  const crc = job.crc64 ? tarsplit.Crc64.create() : undefined;
  try {
    for await (const chunk of readChunks(job.fd, job.path, job.start, job.end)) {
      hasher.update(chunk);
      crc?.update(chunk);
    }
    return { entries: hasher.finish(), crc64: crc?.value() };
  } finally {
    hasher[Symbol.dispose]();
    crc?.[Symbol.dispose]();
  }
}
