/**
 * How OCI content is named in a repository, as composefs-rs names it:
 * streams `oci-layer-<diff_id>`, `oci-config-<digest>`,
 * `oci-manifest-<digest>`, and tags under `streams/refs/oci/`.
 */
import { createHash } from 'node:crypto';
import { PREFIXED_DIGEST, UsageError } from '../../common/index.js';
import { encodeTag } from '../repository/index.js';

/** Checks an OCI digest (`sha256:<64 hex>` or `sha512:<128 hex>`). */
export function checkDigest(value: string, what: string): string {
  if (!PREFIXED_DIGEST.test(value)) throw new UsageError(`${what} "${value}" is not a sha256:<hex> or sha512:<hex> digest`);
  return value;
}

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export const layerContentId = (diffId: string): string => `oci-layer-${diffId}`;
export const configContentId = (digest: string): string => `oci-config-${digest}`;
export const manifestContentId = (digest: string): string => `oci-manifest-${digest}`;

/** The ref (below streams/refs/) of a tag. */
export const tagRef = (tag: string): string => `oci/${encodeTag(tag)}`;
export const TAG_PREFIX = 'oci/';
