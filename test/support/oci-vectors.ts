/** test/vectors/oci, as the tests and the generator (make-oci-vectors.ts) see them. */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';

export interface LayerVector {
  readonly diffId: string;
  /** `cfsctl oci layer --json DIFF_ID` */
  readonly json: string;
  /** `cfsctl oci layer --dumpfile DIFF_ID` */
  readonly dumpfile: string;
}

/** Streams after a pull whose rewritten streams list the layers in rootfs.diff_ids order. */
export interface StreamVector {
  /** streams/oci-config-<digest> → this object */
  readonly configStream: string;
  /** streams/oci-manifest-<digest> → this object */
  readonly manifestStream: string;
  /** Pulls (each into a new repository) until the layer order was that one. */
  readonly attempts: number;
}

export interface OciVector {
  readonly about: string;
  readonly tag: string;
  readonly diffIds: readonly string[];
  readonly manifestDigest: string;
  readonly configDigest: string;
  /** Config and manifest JSON are fixed too, so stream IDs are golden. */
  readonly fixedDocuments: boolean;
  /** What `cfsctl oci pull` said when it failed (both import paths). */
  readonly pullError?: string;
  /**
   * What `cfsctl oci pull --local-fetch auto` said when its
   * containers-storage reader failed. The layers then went through
   * `cfsctl oci import-layer` (see make-oci-vectors.ts) and there are no
   * stream goldens.
   */
  readonly cstorPullError?: string;
  /** The layer streams' object IDs (streams/oci-layer-<diff_id>). */
  readonly layerStreams: readonly string[];
  /**
   * How cfsctl made them. `import-layer` drops whatever follows a tar's
   * end-of-archive blocks (GNU tar's record padding), which a pull keeps,
   * so those are only comparable with import-layer's.
   */
  readonly layerStreamsVia: 'pull' | 'import-layer';
  /** `cfsctl --erofs-version N oci compute-id --xattrs MODE TAG`, keyed `v<N>.<MODE>`. */
  readonly ids: Readonly<Record<string, string>>;
  /** File holding `cfsctl oci dump TAG`, or `sha256:<hex>` of a big one. */
  readonly dump?: string;
  /** The same with `--xattrs keep-user-xattrs`, when it differs. */
  readonly userDump?: string;
  /** After `cfsctl oci pull` into a V1 (the default) and a V2 repository. */
  readonly streams?: { readonly v1: StreamVector; readonly v2: StreamVector };
  /** `… oci compute-id --bootable …` as `ids`, or its error. */
  readonly bootIds?: Readonly<Record<string, string>>;
  readonly bootError?: string;
  readonly bootDump?: string;
  /** After `cfsctl oci pull --bootable`, V1 and V2. */
  readonly bootStreams?: { readonly v1: StreamVector; readonly v2: StreamVector };
  readonly layers?: readonly LayerVector[];
}

/** The key of `ids` and `bootIds`. */
export const idKey = (version: 0 | 1 | 2, mode: 'allowlist-only' | 'keep-user-xattrs' = 'allowlist-only'): string => `v${version}.${mode}`;

export interface OciVectors {
  /** The cfsctl that made them. */
  readonly cfsctl: string;
  /** sha256 of the host /usr/bin/busybox some fixtures contain. */
  readonly busybox: string;
  readonly images: Readonly<Record<string, OciVector>>;
}

export const OCI_VECTOR_DIR = new URL('../../../test/vectors/oci/', import.meta.url);

export function ociVectorFile(name: string): Buffer {
  return readFileSync(new URL(name, OCI_VECTOR_DIR));
}

/** A dumpfile vector's check: the file's bytes, or the digest of a big one. */
export function dumpMatches(vector: string, dump: Buffer): boolean {
  if (vector.startsWith('sha256:')) return `sha256:${createHash('sha256').update(dump).digest('hex')}` === vector;
  return ociVectorFile(vector).equals(dump);
}

export function loadOciVectors(): OciVectors | undefined {
  const file = new URL('goldens.json', OCI_VECTOR_DIR);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as OciVectors) : undefined;
}
