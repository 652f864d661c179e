/**
 * meta.json: the repository's format version, digest algorithm, feature
 * flags and EROFS formats, as composefs-rs 0.9 writes and checks them.
 *
 * `erofs_formats` (`{"default": 1}`, or with `"extra": [2]` for images made
 * in a second format too) names the EROFS format versions of the
 * repository's images. A repository without it uses V2 — or V1 when its
 * read-only-compatible features list `v1_erofs`, which composefs-rs writes
 * beside a V1 default so that tools from before `erofs_formats` open it
 * read-only. composefs-rs applies that fallback also when `erofs_formats`
 * says exactly `{"default": 2}`; so does cfskit.
 */
import { EROFS_VERSIONS, InputError, LEGACY_EROFS_VERSION, UsageError, type ErofsVersion, type HashAlg } from '../../common/index.js';

export const META_FILE = 'meta.json';
export const FORMAT_VERSION = 1;

export type Algorithm = 'fsverity-sha512-12' | 'fsverity-sha256-12';
export const ALGORITHMS: readonly Algorithm[] = ['fsverity-sha512-12', 'fsverity-sha256-12'];

/** The read-only-compatible feature of a V1 repository. */
export const V1_EROFS_FEATURE = 'v1_erofs';
/** Feature names this version understands. */
const KNOWN_INCOMPATIBLE: readonly string[] = [];
const KNOWN_READ_ONLY: readonly string[] = [V1_EROFS_FEATURE];

/** composefs-rs `FormatConfig`: the default version, and versions also made. */
export interface ErofsFormats {
  readonly default: ErofsVersion;
  /** Sorted; `formatVersions` skips one equal to the default, as composefs-rs does. */
  readonly extra: readonly ErofsVersion[];
}

export interface RepoMeta {
  readonly version: number;
  readonly algorithm: Algorithm;
  readonly features: {
    readonly compatible: readonly string[];
    readonly 'read-only-compatible': readonly string[];
    readonly incompatible: readonly string[];
  };
  /** As stored; undefined when meta.json has no `erofs_formats`. */
  readonly erofsFormats: ErofsFormats | undefined;
}

export const singleFormat = (version: ErofsVersion): ErofsFormats => ({ default: version, extra: [] });

/** Every version images are made in: the default first, then the extras. */
export const formatVersions = (formats: ErofsFormats): ErofsVersion[] => [formats.default, ...formats.extra.filter((v) => v !== formats.default)];

const isLegacyDefault = (f: ErofsFormats): boolean => f.default === LEGACY_EROFS_VERSION && f.extra.length === 0;

/** The formats the repository's images are made in (composefs-rs `format_config`). */
export function effectiveFormats(meta: RepoMeta): ErofsFormats {
  const stored = meta.erofsFormats ?? singleFormat(LEGACY_EROFS_VERSION);
  if (!isLegacyDefault(stored)) return stored;
  if (meta.features['read-only-compatible'].includes(V1_EROFS_FEATURE)) return singleFormat(1);
  return stored;
}

/** composefs-rs's equality of two metadata files (absent formats read as V2). */
export function sameMeta(a: RepoMeta, b: RepoMeta): boolean {
  const canonical = (m: RepoMeta): string => serializeMeta({ ...m, erofsFormats: m.erofsFormats ?? singleFormat(LEGACY_EROFS_VERSION) }).toString();
  return canonical(a) === canonical(b);
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

/** What composefs-rs writes for a new repository (`new_with_formats`). */
export function newMeta(algorithm: Algorithm, formats: ErofsFormats = singleFormat(1)): RepoMeta {
  const readOnly = formats.default === 1 ? [V1_EROFS_FEATURE] : [];
  return { version: FORMAT_VERSION, algorithm, features: { compatible: [], 'read-only-compatible': readOnly, incompatible: [] }, erofsFormats: formats };
}

/** The bytes composefs-rs writes: serde's field order, pretty JSON, two-space indent, newline. */
export function serializeMeta(meta: RepoMeta): Buffer {
  const doc: Record<string, unknown> = { version: meta.version, algorithm: meta.algorithm, features: meta.features };
  if (meta.erofsFormats) {
    const { default: def, extra } = meta.erofsFormats;
    doc.erofs_formats = extra.length > 0 ? { default: def, extra } : { default: def };
  }
  return Buffer.from(`${JSON.stringify(doc, null, 2)}\n`);
}

function formatVersion(value: unknown, field: string, input: string): ErofsVersion {
  if (typeof value === 'number' && (EROFS_VERSIONS as readonly number[]).includes(value)) return value as ErofsVersion;
  throw new InputError(input, `erofs_formats.${field} ${JSON.stringify(value)} is not an EROFS format version this cfskit knows (0, 1 or 2)`);
}

function parseFormats(value: unknown, input: string): ErofsFormats | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InputError(input, '"erofs_formats" must be an object');
  const o = value as Record<string, unknown>;
  const def = formatVersion(o.default, 'default', input);
  const extra = o.extra ?? [];
  if (!Array.isArray(extra)) throw new InputError(input, 'erofs_formats.extra must be a list');
  const versions = new Set(extra.map((v) => formatVersion(v, 'extra', input)));
  return { default: def, extra: [...versions].sort() };
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
    erofsFormats: parseFormats(o.erofs_formats, input),
  };
  const incompatible = meta.features.incompatible.filter((x) => !KNOWN_INCOMPATIBLE.includes(x));
  if (incompatible.length > 0) {
    throw new InputError(input, `repository requires features this cfskit does not know: ${incompatible.join(', ')}`);
  }
  const readOnlyBecause = meta.features['read-only-compatible'].filter((x) => !KNOWN_READ_ONLY.includes(x));
  return { meta, readOnlyBecause };
}
