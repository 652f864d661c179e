/** Worker thread entry: hashes file ranges for a parallel digest. */
import { serve } from '../workers/pool.js';
import { hashRange, type RangeJob } from './range.js';

serve((job: RangeJob) => hashRange(job));
