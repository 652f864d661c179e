/** Worker thread entry: hashes file ranges for a parallel digest. */
import { serve } from '../workers/pool.js';
import { hashRange, READ_CHUNK, type RangeJob } from './range.js';

const buffer = Buffer.allocUnsafe(READ_CHUNK);
serve((job: RangeJob) => hashRange(job, buffer));
