/**
 * The fs-verity hash algorithms: their names, the kernel's identifiers for
 * them (FS_VERITY_HASH_ALG_*) and digest sizes, in one table.
 */

export type HashAlg = 'sha256' | 'sha512';
export const HASH_ALGS: readonly HashAlg[] = ['sha256', 'sha512'];

/** FS_VERITY_HASH_ALG_SHA256 = 1, FS_VERITY_HASH_ALG_SHA512 = 2. */
export type KernelHashId = 1 | 2;

interface HashAlgInfo {
  readonly kernelId: KernelHashId;
  /** Bytes of a digest. */
  readonly digestSize: number;
}

export const HASH_ALG_INFO: Readonly<Record<HashAlg, HashAlgInfo>> = {
  sha256: { kernelId: 1, digestSize: 32 },
  sha512: { kernelId: 2, digestSize: 64 },
};

export function isHashAlg(value: string): value is HashAlg {
  return (HASH_ALGS as readonly string[]).includes(value);
}

/** The algorithm the kernel names by `id`, if cfskit knows it. */
export function hashAlgOfKernelId(id: number): HashAlg | undefined {
  return HASH_ALGS.find((alg) => HASH_ALG_INFO[alg].kernelId === id);
}

/** Lowercase hex digits of a digest: 64 or 128. */
export function hexLength(alg: HashAlg): number {
  return HASH_ALG_INFO[alg].digestSize * 2;
}

/**
 * `sha256:<64 hex>` or `sha512:<128 hex>`: the one pattern for
 * algorithm-prefixed digests (OCI descriptors, diff_ids, object IDs).
 */
export const PREFIXED_DIGEST = /^(?:sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;

/** A bare digest of either algorithm, lowercase hex. */
export const HEX_DIGEST = /^(?:[0-9a-f]{64}|[0-9a-f]{128})$/;

/** A bare digest of `alg`, lowercase hex. */
export function isHexDigest(value: string, alg: HashAlg): boolean {
  return value.length === hexLength(alg) && HEX_DIGEST.test(value);
}
