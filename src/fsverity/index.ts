/**
 * fs-verity digests of files and bytes (the object IDs of repositories),
 * computed here (serially or on worker threads) or measured by the kernel.
 */
export { closeDigestWorkers, digestBytes, digestFdSync, digestFile, resolveThreads, DEFAULT_PARALLEL_THRESHOLD, IMPORT_PARALLEL_THRESHOLD, type DigestFileOptions, type FileDigest } from './digest.js';
export { formatDigest } from './format.js';
export { resolveParams, type VerityOptions, type VerityParams } from './params.js';
export { readChunks, READ_CHUNK } from './reader.js';
export { measureVerity, type VerityMeasurement } from './measure.js';
