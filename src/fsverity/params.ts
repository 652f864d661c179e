/** Validation of the two fs-verity knobs, shared by every digest path. */
import { HASH_ALGS, HASH_ALG_INFO, UsageError, isHashAlg, type HashAlg } from '../../common/index.js';
import type { CoreVerityParams as CoreParams } from '../core/index.js';

export interface VerityOptions {
  /** Default sha512, as composefs repositories use. */
  hashAlg?: string;
  /** Merkle tree block size in bytes; default 4096. */
  blockSize?: number;
}

export interface VerityParams {
  readonly hashAlg: HashAlg;
  readonly blockSize: number;
  readonly lgBlockSize: number;
  readonly digestSize: number;
  /** Child hashes per tree block. */
  readonly fanOut: number;
  /** The same, in the core's terms. */
  readonly core: CoreParams;
}

export function resolveParams(options: VerityOptions = {}): VerityParams {
  const hashAlg = options.hashAlg ?? 'sha512';
  if (!isHashAlg(hashAlg)) {
    throw new UsageError(`unknown hash algorithm "${hashAlg}" (expected ${HASH_ALGS.join(' or ')})`);
  }
  const blockSize = options.blockSize ?? 4096;
  const lgBlockSize = Math.log2(blockSize);
  if (!Number.isInteger(lgBlockSize) || lgBlockSize < 10 || lgBlockSize > 16) {
    throw new UsageError(`invalid block size ${blockSize} (expected a power of two from 1024 to 65536)`);
  }
  const { digestSize } = HASH_ALG_INFO[hashAlg];
  return {
    hashAlg,
    blockSize,
    lgBlockSize,
    digestSize,
    fanOut: blockSize / digestSize,
    core: { algorithm: hashAlg, lgBlockSize },
  };
}
