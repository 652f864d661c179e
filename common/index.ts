/**
 * The leaf every other folder may import and which imports nothing of
 * cfskit: error classes, the hash algorithms, errno and write helpers.
 */
export * from './errors.js';
export { ERROR_CLASSES, inContext, reviveError, serializeError, type SerializedError } from './serialize.js';
export { HASH_ALGS, HASH_ALG_INFO, HEX_DIGEST, PREFIXED_DIGEST, hashAlgOfKernelId, hexLength, isHashAlg, isHexDigest, type HashAlg, type KernelHashId } from './hash-alg.js';
export { errnoOf, isErrno, nodeErrorCode } from './errno.js';
export { writeAll } from './io.js';
export { closeFd, fstatFd, openAndReadSync, openFd, readFd } from './fd.js';
