/**
 * What a stream's name claims about it. composefs-oci names its streams
 * after their content — `oci-layer-<diff_id>` holds the layer tar whose
 * digest is the diff_id, `oci-config-<digest>` and `oci-manifest-<digest>`
 * the documents with that digest — and stamps each with a content type.
 * Readers that write a stream's content out (`cat`, `oci layer`) check the
 * digest of what they wrote; fsck checks both.
 */
import { PREFIXED_DIGEST } from '../../common/index.js';
import { CONTENT_TYPES } from '../splitstream/index.js';

export type StreamRole = 'layer' | 'config' | 'manifest';

export interface StreamClaim {
  readonly role: StreamRole;
  /** The content type a stream of this role has. */
  readonly contentType: bigint;
  /** `sha256:<hex>` (or sha512) its content hashes to. */
  readonly digest: string;
  /** How the digest is called: "diff_id", "config digest", "manifest digest". */
  readonly what: string;
}

/** The content-id prefix of each role, as composefs-oci names streams. */
export const STREAM_PREFIXES: Readonly<Record<StreamRole, string>> = { layer: 'oci-layer-', config: 'oci-config-', manifest: 'oci-manifest-' };

const ROLES: readonly { readonly role: StreamRole; readonly contentType: bigint; readonly what: string }[] = [
  { role: 'layer', contentType: CONTENT_TYPES.ociLayer, what: 'diff_id' },
  { role: 'config', contentType: CONTENT_TYPES.ociConfig, what: 'config digest' },
  { role: 'manifest', contentType: CONTENT_TYPES.ociManifest, what: 'manifest digest' },
];

/** The claim of the content id `contentId`, if its name makes one. */
export function claimOf(contentId: string): StreamClaim | undefined {
  for (const { role, contentType, what } of ROLES) {
    const prefix = STREAM_PREFIXES[role];
    if (!contentId.startsWith(prefix)) continue;
    const digest = contentId.slice(prefix.length);
    return PREFIXED_DIGEST.test(digest) ? { role, contentType, digest, what } : undefined;
  }
  return undefined;
}

/** The hash algorithm of a claimed digest (as node:crypto names it). */
export function digestAlgorithm(digest: string): 'sha256' | 'sha512' {
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}
