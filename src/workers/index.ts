/** Worker-thread pools and bounded, ordered concurrency. */
export { inOrder } from './in-order.js';
export { WorkerPool, serve, wholeBuffers, workerExecArgv } from './pool.js';
