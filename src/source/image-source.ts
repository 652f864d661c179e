/**
 * Where an image comes from when no container engine is involved: an OCI
 * layout, an archive, a registry. A source finds the image manifest for
 * a platform and streams blobs; it trusts nothing it reads, and its
 * caller checks every blob's size and digest as it streams.
 */
import type { Platform } from './platform.js';

export interface BlobDescriptor {
  readonly digest: string;
  readonly size: number;
  readonly mediaType?: string | undefined;
}

export interface ResolvedManifest {
  /** The manifest's bytes exactly as the source holds them. */
  readonly bytes: Buffer;
  readonly digest: string;
  readonly mediaType: string | undefined;
}

export interface ImageSource {
  /** The reference as given (`oci:/srv/layout:1`), for messages. */
  readonly name: string;
  /** The image manifest to pull; an index is resolved for `platform`. */
  resolve(platform: Platform): Promise<ResolvedManifest>;
  /** A blob's bytes, unchecked (at most one byte more than its size). */
  blob(descriptor: BlobDescriptor): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}
