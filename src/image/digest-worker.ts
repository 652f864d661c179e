/** Worker thread entry: digests batches of small files for a tree scan. */
import { serve, wholeBuffers } from '../workers/index.js';
import { digestBatch, SMALL_FILE, type DigestBatch } from './digest-batch.js';

const buffer = Buffer.allocUnsafe(SMALL_FILE + 1);
serve((job: DigestBatch) => digestBatch(job, buffer), wholeBuffers);
