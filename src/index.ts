/** cfskit's library API. */
export * from './errors.js';
export { digestBytes, digestFile, formatDigest, closeDigestWorkers, type DigestFileOptions, type FileDigest } from './fsverity/digest.js';
export { resolveParams, HASH_ALGS, type HashAlg, type VerityOptions, type VerityParams } from './fsverity/params.js';
export {
  CONTENT_TYPES,
  describeContentType,
  SplitstreamWriter,
  openSplitstream,
  reassemble,
  type FinishedSplitstream,
  type OpenObject,
  type SplitstreamChunk,
  type SplitstreamExpectations,
  type SplitstreamInfo,
  type SplitstreamReader,
  type SplitstreamWriterOptions,
} from './splitstream/index.js';
