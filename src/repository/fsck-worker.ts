/** Worker thread entry: fsck's object checks, a batch at a time (fsck-batch.ts). */
import { serve } from '../workers/index.js';
import { BATCH_BUFFER, checkObjectBatch, type FsckBatch } from './fsck-batch.js';

const buffer = Buffer.allocUnsafe(BATCH_BUFFER);
serve((job: FsckBatch) => checkObjectBatch(job, buffer));
