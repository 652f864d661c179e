/** fs-verity through the kernel: enable it on a file, read its measurement. */
import { Buffer } from 'node:buffer';
import { HASH_ALG_INFO, UnsupportedError, VerityNotEnabledError, VerityUnsupportedError, errnoOf, hashAlgOfKernelId, type HashAlg } from '../common/index.js';
import { nativeHost, toSystemError, type Target } from './native.js';

export interface VerityMeasurement {
  readonly hashAlg: HashAlg;
  readonly digest: Uint8Array;
  readonly hex: string;
}

function targetName(target: Target, name: string | undefined): string {
  if (name) return name;
  if (typeof target === 'number') return `fd ${target}`;
  return Buffer.isBuffer(target) ? target.toString('utf8') : target;
}

function verityError(err: unknown, input: string): Error {
  const errno = errnoOf(err);
  if (errno === 'EOPNOTSUPP' || errno === 'ENOTTY') return new VerityUnsupportedError(input, errno);
  if (errno === 'ENODATA') return new VerityNotEnabledError(input);
  return toSystemError(err, input);
}

/** The kernel's fs-verity digest of a file with verity enabled. */
export async function measureVerity(target: Target, name?: string): Promise<VerityMeasurement> {
  const input = targetName(target, name);
  const host = nativeHost('measuring fs-verity');
  try {
    const { algorithm, digest } = await host.measureVerity(target);
    const hashAlg = hashAlgOfKernelId(algorithm);
    if (!hashAlg) throw new UnsupportedError(`${input}: fs-verity hash algorithm ${algorithm} is unknown to cfskit`, { input });
    return { hashAlg, digest, hex: Buffer.from(digest).toString('hex') };
  } catch (err) {
    throw verityError(err, input);
  }
}

/**
 * Enables fs-verity on a file; the kernel then builds the Merkle tree.
 * No writable descriptor of the file may be open (else ETXTBSY).
 */
export async function enableVerity(
  target: Target,
  options: { hashAlg: HashAlg; blockSize: number },
  name?: string,
): Promise<void> {
  const input = targetName(target, name);
  const host = nativeHost('enabling fs-verity');
  try {
    await host.enableVerity(target, HASH_ALG_INFO[options.hashAlg].kernelId, options.blockSize);
  } catch (err) {
    throw verityError(err, input);
  }
}
