/** Worker thread entry: reads and checks batches of small layer files for an import (content-batch.ts). */
import { serve, wholeBuffers } from '../workers/index.js';
import { checkContentBatch, type ContentJob } from './content-batch.js';

// The contents view all but the last byte of their buffer: moved whole all
// the same. A buffer listed twice would fail the whole reply.
serve(
  (job: ContentJob) => checkContentBatch(job),
  (result) => [...new Set([...(result.data.buffer instanceof ArrayBuffer ? [result.data.buffer] : []), ...wholeBuffers([result.digests])])],
);
