/**
 * How a parallel digest splits a file: a tree height and a job size that is
 * a multiple of the bytes one entry at that height covers, so every job's
 * entries are exactly the whole tree's.
 */
import type { VerityParams } from './params.js';

export interface RangePlan {
  readonly height: number;
  readonly jobSize: number;
  readonly jobs: number;
}

/** Bytes per job: large enough that messaging is noise, small enough to balance. */
export const JOB_BYTES = 32 << 20;

export function planRanges(params: VerityParams, size: number, jobBytes = JOB_BYTES): RangePlan {
  const blocks = Math.ceil(size / params.blockSize);
  let height = 0;
  // The highest level whose entry span fits a job and that the file's tree
  // actually has (the level below must hold more than one entry).
  for (let h = 1; h <= 3; h++) {
    const unit = params.blockSize * params.fanOut ** h;
    if (unit > jobBytes || blocks <= params.fanOut ** (h - 1)) break;
    height = h;
  }
  const unit = params.blockSize * params.fanOut ** height;
  const jobSize = Math.max(unit, Math.floor(jobBytes / unit) * unit);
  return { height, jobSize, jobs: Math.ceil(size / jobSize) };
}
