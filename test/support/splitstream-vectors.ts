/** The golden splitstream vectors (test/vectors/splitstream/README.md), expanded into writer calls. */
import { readFileSync, readdirSync } from 'node:fs';
import { digestBytes } from '../../src/fsverity/digest.js';
import type { HashAlg } from '../../common/index.js';

export type Step =
  | { readonly kind: 'inline'; readonly data: Buffer }
  | { readonly kind: 'external'; readonly id: Uint8Array; readonly content: Buffer }
  | { readonly kind: 'named'; readonly name: string; readonly id: Uint8Array };

export interface SplitVector {
  readonly name: string;
  readonly hashAlg: HashAlg;
  readonly contentType: bigint;
  readonly layout: 'current' | 'old';
  readonly steps: readonly Step[];
  readonly streamSize: bigint;
  readonly contentSha256: string;
  readonly fileSize: number;
  readonly fileSha256: string;
  /** The file itself when the vector stores it (files up to 64 KiB). */
  readonly file: Buffer | undefined;
  readonly objectId: string;
}

interface Op {
  inline?: string;
  inlinePattern?: { seed: number; size: number };
  inlineZeros?: number;
  external?: { seed: number; size: number; objectId: string };
  namedRef?: { name: string; streamId: string };
  series?: { count: number; distinct: number; seed: number };
}

interface VectorDoc {
  name: string;
  hashAlg: HashAlg;
  contentType: string;
  layout: 'current' | 'old';
  script: Op[];
  streamSize: number;
  content: { size: number; sha256: string };
  file: { size: number; sha256: string; base64?: string };
  objectId: string;
}

/** The vectors' generator: a 32-bit LCG, random bytes and letters alternating every 256 bytes. */
export function lcgPattern(seed: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = (i & 256) === 0 ? (x >>> 16) & 0xff : 97 + (i % 23);
  }
  return out;
}

const dir = new URL('../../../test/vectors/splitstream/', import.meta.url);

function expand(hashAlg: HashAlg, script: readonly Op[]): Step[] {
  const cache = new Map<string, Step>();
  const external = (seed: number, size: number): Step => {
    const key = `${seed}/${size}`;
    let step = cache.get(key);
    if (!step) {
      const content = lcgPattern(seed, size);
      step = { kind: 'external', id: digestBytes(content, { hashAlg }), content };
      cache.set(key, step);
    }
    return step;
  };
  const steps: Step[] = [];
  for (const op of script) {
    if (op.inline !== undefined) steps.push({ kind: 'inline', data: Buffer.from(op.inline, 'hex') });
    else if (op.inlinePattern) steps.push({ kind: 'inline', data: lcgPattern(op.inlinePattern.seed, op.inlinePattern.size) });
    else if (op.inlineZeros !== undefined) steps.push({ kind: 'inline', data: Buffer.alloc(op.inlineZeros) });
    else if (op.external) {
      const step = external(op.external.seed, op.external.size);
      if (step.kind === 'external' && Buffer.from(step.id).toString('hex') !== op.external.objectId) {
        throw new Error(`vector object ID mismatch for seed ${op.external.seed}`);
      }
      steps.push(step);
    } else if (op.namedRef) steps.push({ kind: 'named', name: op.namedRef.name, id: Buffer.from(op.namedRef.streamId, 'hex') });
    else if (op.series) {
      const { count, distinct, seed } = op.series;
      for (let k = 0; k < count; k++) {
        steps.push({ kind: 'inline', data: lcgPattern((seed + k) >>> 0, 512) });
        const j = k % distinct;
        const size = 65 + 7 * j;
        steps.push(external((seed + 1_000_000 + j) >>> 0, size));
        const pad = (512 - (size % 512)) % 512;
        if (pad > 0) steps.push({ kind: 'inline', data: Buffer.alloc(pad) });
      }
    } else throw new Error(`unknown script op ${JSON.stringify(op)}`);
  }
  return steps;
}

let loaded: SplitVector[] | undefined;

export function splitstreamVectors(): SplitVector[] {
  loaded ??= readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const doc = JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as VectorDoc;
      return {
        name: doc.name,
        hashAlg: doc.hashAlg,
        contentType: BigInt(doc.contentType),
        layout: doc.layout,
        steps: expand(doc.hashAlg, doc.script),
        streamSize: BigInt(doc.streamSize),
        contentSha256: doc.content.sha256,
        fileSize: doc.file.size,
        fileSha256: doc.file.sha256,
        file: doc.file.base64 === undefined ? undefined : Buffer.from(doc.file.base64, 'base64'),
        objectId: doc.objectId,
      };
    });
  return loaded;
}

/** composefs-rs's `new_to_old_format`: the header fields in the pre-`repr(C)` order. */
export function toOldLayout(file: Buffer): Buffer {
  const old = Buffer.from(file);
  file.copy(old, 0, 16, 32);
  file.copy(old, 16, 12, 14);
  file.copy(old, 18, 0, 11);
  old[29] = file[11] ?? 0;
  old[30] = file[14] ?? 0;
  old[31] = file[15] ?? 0;
  return old;
}
