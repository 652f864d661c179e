/**
 * meta.json: the repository's format version, digest algorithm and feature
 * flags, as composefs-rs writes and checks them.
 */
import { InputError, UsageError, type HashAlg } from '../../common/index.js';

export const META_FILE = 'meta.json';
export const FORMAT_VERSION = 1;

export type Algorithm = 'fsverity-sha512-12' | 'fsverity-sha256-12';
export const ALGORITHMS: readonly Algorithm[] = ['fsverity-sha512-12', 'fsverity-sha256-12'];

/** Feature names this version understands (none are defined yet). */
const KNOWN_INCOMPATIBLE: readonly string[] = [];
const KNOWN_READ_ONLY: readonly string[] = [];

export interface RepoMeta {
  readonly version: number;
  readonly algorithm: Algorithm;
  readonly features: {
    readonly compatible: readonly string[];
    readonly 'read-only-compatible': readonly string[];
    readonly incompatible: readonly string[];
  };
}

export function hashAlgOf(algorithm: Algorithm): HashAlg {
  return algorithm === 'fsverity-sha256-12' ? 'sha256' : 'sha512';
}

export function algorithmFor(hashAlg: HashAlg): Algorithm {
  return hashAlg === 'sha256' ? 'fsverity-sha256-12' : 'fsverity-sha512-12';
}

export function parseAlgorithm(value: string): Algorithm {
  if ((ALGORITHMS as readonly string[]).includes(value)) return value as Algorithm;
  const hint = /^fsverity-(sha256|sha512)-(\d+)$/.test(value)
    ? 'only 4 KiB blocks (-12) are supported'
    : 'expected fsverity-<sha256|sha512>-12';
  throw new UsageError(`unsupported algorithm "${value}" (${hint})`);
}

export function newMeta(algorithm: Algorithm): RepoMeta {
  return { version: FORMAT_VERSION, algorithm, features: { compatible: [], 'read-only-compatible': [], incompatible: [] } };
}

/** The bytes composefs-rs writes: pretty JSON, two-space indent, newline. */
export function serializeMeta(meta: RepoMeta): Buffer {
  return Buffer.from(`${JSON.stringify(meta, null, 2)}\n`);
}

function stringList(value: unknown, field: string, input: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw new InputError(input, `features.${field} must be a list of strings`);
  }
  return value;
}

export interface MetaCheck {
  readonly meta: RepoMeta;
  /** Unknown read-only-compatible features: reading is fine, writing is not. */
  readonly readOnlyBecause: readonly string[];
}

/** Parses and checks meta.json; `input` names the file in errors. */
export function parseMeta(bytes: Uint8Array, input: string): MetaCheck {
  if (bytes.length > 1 << 20) throw new InputError(input, 'larger than 1 MiB; not a repository meta.json');
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new InputError(input, `invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InputError(input, 'not a JSON object');
  const o = doc as Record<string, unknown>;
  if (typeof o.version !== 'number' || !Number.isInteger(o.version) || o.version < 0) {
    throw new InputError(input, 'missing or invalid "version"');
  }
  if (o.version > FORMAT_VERSION) {
    throw new InputError(input, `repository format version ${o.version} is newer than this cfskit understands (${FORMAT_VERSION})`);
  }
  if (typeof o.algorithm !== 'string') throw new InputError(input, 'missing or invalid "algorithm"');
  let algorithm: Algorithm;
  try {
    algorithm = parseAlgorithm(o.algorithm);
  } catch (err) {
    throw new InputError(input, err instanceof Error ? err.message : String(err));
  }
  const f = o.features ?? {};
  if (typeof f !== 'object' || f === null || Array.isArray(f)) throw new InputError(input, '"features" must be an object');
  const features = f as Record<string, unknown>;
  const meta: RepoMeta = {
    version: o.version,
    algorithm,
    features: {
      compatible: stringList(features.compatible, 'compatible', input),
      'read-only-compatible': stringList(features['read-only-compatible'], 'read-only-compatible', input),
      incompatible: stringList(features.incompatible, 'incompatible', input),
    },
  };
  const incompatible = meta.features.incompatible.filter((x) => !KNOWN_INCOMPATIBLE.includes(x));
  if (incompatible.length > 0) {
    throw new InputError(input, `repository requires features this cfskit does not know: ${incompatible.join(', ')}`);
  }
  const readOnlyBecause = meta.features['read-only-compatible'].filter((x) => !KNOWN_READ_ONLY.includes(x));
  return { meta, readOnlyBecause };
}
