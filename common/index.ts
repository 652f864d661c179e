/**
 * The leaf every other folder may import and which imports nothing of
 * cfskit: error classes, the hash algorithms, the image format choices
 * (EROFS version, xattr mode), errno and write helpers.
 */
export * from './errors.js';
export { ERROR_CLASSES, inContext, reviveError, serializeError, type SerializedError } from './serialize.js';
export { HASH_ALGS, HASH_ALG_INFO, HEX_DIGEST, PREFIXED_DIGEST, hashAlgOfKernelId, hexLength, isHashAlg, isHexDigest, type HashAlg, type KernelHashId } from './hash-alg.js';
export { errnoOf, isErrno, nodeErrorCode } from './errno.js';
export { writeAll } from './io.js';
export { closeFd, fstatFd, openAndReadSync, openFd, readFd } from './fd.js';
export {
  BOOT_EROFS_VERSIONS,
  DEFAULT_EROFS_VERSION,
  DEFAULT_XATTR_MODE,
  EROFS_VERSIONS,
  LEGACY_EROFS_VERSION,
  XATTR_MODES,
  compactLayout,
  erofsFormat,
  parseErofsVersion,
  parseXattrMode,
  type ErofsFormat,
  type ErofsVersion,
  type XattrMode,
} from './image-format.js';
