/** Worker thread entry: hashes file ranges for a parallel digest. */
import { serve, wholeBuffers } from '../workers/index.js';
import { hashRange, type RangeJob } from './range.js';

serve((job: RangeJob) => hashRange(job), (result) => wholeBuffers([result.entries]));
