/** Worker thread entry: digests batches of small files for a tree scan. */
import { serve, wholeBuffers } from '../workers/index.js';
import { digestBatch, BATCH_FILE_MAX, type DigestBatch } from './digest-batch.js';

const buffer = Buffer.allocUnsafe(BATCH_FILE_MAX + 1);
serve((job: DigestBatch) => digestBatch(job, buffer), wholeBuffers);
