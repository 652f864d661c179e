/**
 * The records of `overlay-images/images.json` and
 * `overlay-layers/layers.json` (containers-storage's `Image` and `Layer`
 * structs as JSON), validated strictly: IDs become path components, so an
 * ID that is not 64 lowercase hex digits, a digest that is not
 * `algorithm:hex`, or a field of the wrong type makes the whole file an
 * error naming it. Unknown fields are ignored (newer podman adds some).
 */
import { InputError } from '../../common/index.js';

export interface ImageRecord {
  readonly id: string;
  readonly names: readonly string[];
  /** Top layer ID; absent for an image without layers. */
  readonly topLayer: string | undefined;
  /** Manifest digests: `digest` and the digests of `manifest*` big data. */
  readonly digests: readonly string[];
  readonly bigDataNames: readonly string[];
  readonly bigDataDigests: Readonly<Record<string, string>>;
  readonly created: string | undefined;
}

export interface LayerRecord {
  readonly id: string;
  readonly parent: string | undefined;
  readonly names: readonly string[];
  /** sha256 of the uncompressed tar: the OCI diff_id. */
  readonly diffDigest: string | undefined;
  readonly diffSize: number | undefined;
  readonly compressedDigest: string | undefined;
  readonly compressedSize: number | undefined;
  readonly created: string | undefined;
  /** Flagged by containers-storage while it is still being written. */
  readonly incomplete: boolean;
}

const ID = /^[0-9a-f]{64}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

export const isStoreId = (value: string): boolean => ID.test(value);
export const isDigest = (value: string): boolean => DIGEST.test(value);

type Json = Record<string, unknown>;

class Checker {
  constructor(
    readonly file: string,
    readonly what: string,
  ) {}

  fail(problem: string): never {
    throw new InputError(this.file, `damaged: ${this.what}: ${problem}`);
  }

  object(value: unknown): Json {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail('is not a JSON object');
    return value as Json;
  }

  string(obj: Json, key: string): string | undefined {
    const value = obj[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') this.fail(`"${key}" is not a string`);
    return value;
  }

  id(obj: Json, key: string, required: boolean): string | undefined {
    const value = this.string(obj, key);
    if (value === undefined || value === '') {
      if (required) this.fail(`no "${key}"`);
      return undefined;
    }
    if (!ID.test(value)) this.fail(`"${key}" ${JSON.stringify(value)} is not a 64-digit hex ID`);
    return value;
  }

  digest(obj: Json, key: string): string | undefined {
    const value = this.string(obj, key);
    if (value === undefined || value === '') return undefined;
    if (!DIGEST.test(value)) this.fail(`"${key}" ${JSON.stringify(value)} is not a digest`);
    return value;
  }

  strings(obj: Json, key: string): string[] {
    const value = obj[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
      this.fail(`"${key}" is not a list of strings`);
    }
    return value;
  }

  /** containers-storage writes -1 for a size it does not know. */
  size(obj: Json, key: string): number | undefined {
    const value = obj[key];
    if (value === undefined || value === null || value === -1) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) this.fail(`"${key}" is not a size`);
    return value;
  }

  digestMap(obj: Json, key: string): Record<string, string> {
    const value = obj[key];
    if (value === undefined || value === null) return {};
    const map = this.object(value);
    const out: Record<string, string> = {};
    for (const [name, digest] of Object.entries(map)) {
      if (typeof digest !== 'string' || (digest !== '' && !DIGEST.test(digest))) this.fail(`"${key}"["${name}"] is not a digest`);
      out[name] = digest;
    }
    return out;
  }
}

function list(file: string, doc: unknown): unknown[] {
  if (doc === undefined) return [];
  if (!Array.isArray(doc)) throw new InputError(file, 'damaged: not a JSON list of records');
  return doc;
}

function unique<T extends { id: string }>(file: string, records: T[]): T[] {
  const seen = new Set<string>();
  for (const r of records) {
    if (seen.has(r.id)) throw new InputError(file, `damaged: ID ${r.id} appears twice`);
    seen.add(r.id);
  }
  return records;
}

export function parseImages(file: string, doc: unknown): ImageRecord[] {
  const records = list(file, doc).map((value, i) => {
    const c = new Checker(file, `record ${i}`);
    const obj = c.object(value);
    const id = c.id(obj, 'id', true) ?? c.fail('no id');
    const check = new Checker(file, `image ${id}`);
    const bigDataDigests = check.digestMap(obj, 'big-data-digests');
    const digests = new Set<string>();
    const digest = check.digest(obj, 'digest');
    if (digest) digests.add(digest);
    for (const [name, d] of Object.entries(bigDataDigests)) {
      if (name.startsWith('manifest') && d) digests.add(d);
    }
    return {
      id,
      names: check.strings(obj, 'names'),
      topLayer: check.id(obj, 'layer', false),
      digests: [...digests],
      bigDataNames: check.strings(obj, 'big-data-names'),
      bigDataDigests,
      created: check.string(obj, 'created'),
    };
  });
  return unique(file, records);
}

export function parseLayers(file: string, doc: unknown): LayerRecord[] {
  const records = list(file, doc).map((value, i) => {
    const c = new Checker(file, `record ${i}`);
    const obj = c.object(value);
    const id = c.id(obj, 'id', true) ?? c.fail('no id');
    const check = new Checker(file, `layer ${id}`);
    const flags = obj.flags === undefined || obj.flags === null ? {} : check.object(obj.flags);
    return {
      id,
      parent: check.id(obj, 'parent', false),
      names: check.strings(obj, 'names'),
      diffDigest: check.digest(obj, 'diff-digest'),
      diffSize: check.size(obj, 'diff-size'),
      compressedDigest: check.digest(obj, 'compressed-diff-digest'),
      compressedSize: check.size(obj, 'compressed-size'),
      created: check.string(obj, 'created'),
      incomplete: flags.incomplete === true,
    };
  });
  return unique(file, records);
}
