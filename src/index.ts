/** cfskit's library API. */
export * from './errors.js';
export { digestBytes, digestFile, formatDigest, closeDigestWorkers, type DigestFileOptions, type FileDigest } from './fsverity/digest.js';
export { resolveParams, HASH_ALGS, type HashAlg, type VerityOptions, type VerityParams } from './fsverity/params.js';
export * from './cstor/index.js';
export { splitTar, TarSplitter, type TarEntry, type TarEntryType, type TarEvent } from './tar/split.js';
