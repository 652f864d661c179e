/**
 * Object IDs: fs-verity digests as lowercase hex, and where each lives in a
 * repository (`objects/<first byte>/<rest>`).
 */
import { InputError, isHexDigest, type HashAlg } from '../../common/index.js';

/** A full fs-verity digest in lowercase hex (64 or 128 characters). */
export type ObjectId = string;

export function isObjectId(value: string, hashAlg: HashAlg): boolean {
  return isHexDigest(value, hashAlg);
}

export function toObjectId(bytes: Uint8Array): ObjectId {
  // A view, not a copy: this runs for every object reference of every stream.
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function objectIdBytes(id: ObjectId): Uint8Array {
  return Buffer.from(id, 'hex');
}

/** `xx/rest`, relative to `objects/`. */
export function objectPathname(id: ObjectId): string {
  return `${id.slice(0, 2)}/${id.slice(2)}`;
}

/** `objects/xx/rest`, relative to the repository. */
export function objectRelPath(id: ObjectId): string {
  return `objects/${objectPathname(id)}`;
}

/**
 * The object ID a stream or image symlink points at: its target must end
 * in `objects/xx/rest` for this algorithm.
 */
export function idFromObjectTarget(target: string, hashAlg: HashAlg, input: string): ObjectId {
  const match = /(?:^|\/)objects\/([0-9a-f]{2})\/([0-9a-f]+)$/.exec(target);
  const id = match ? `${match[1]}${match[2]}` : '';
  if (!isObjectId(id, hashAlg)) {
    throw new InputError(input, `symlink target "${target}" is not an object path of a ${hashAlg} repository`);
  }
  return id;
}
