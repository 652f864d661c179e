/**
 * The wasm core, instantiated once per thread (each worker gets its own).
 * Its calls fail with the WIT `error` variant (jco throws it as an Error
 * whose `payload` is `{ tag, val }`); `withInput` turns each kind into its
 * class, naming the caller's input: malformed → InputError, integrity →
 * IntegrityError, limit → LimitError, unsupported → UnsupportedError.
 */
import * as core from '../../gen/wasm-core/cfskit-core.js';
import { CfskitError, InputError, IntegrityError, LimitError, UnsupportedError } from '../../common/index.js';

export const fsverity = core.fsverity;
export const splitstream = core.splitstream;
export const composefs = core.composefs;
export const tar = core.tar;
export const tarsplit = core.tarsplit;
export const oci = core.oci;
export const zstd = core.zstd;

/** composefs-rs's INLINE_CONTENT_MAX_V0, as the core applies it: larger files are objects. */
export const INLINE_CONTENT_MAX: number = composefs.inlineContentMax();

type CoreFailure = { readonly tag: 'malformed' | 'integrity' | 'limit' | 'unsupported'; readonly val: string };

function failureOf(err: unknown): CoreFailure | undefined {
  const payload: unknown = err instanceof Error ? (err as Error & { payload?: unknown }).payload : undefined;
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { tag, val } = payload as { tag?: unknown; val?: unknown };
  return (tag === 'malformed' || tag === 'integrity' || tag === 'limit' || tag === 'unsupported') && typeof val === 'string' ? { tag, val } : undefined;
}

/** The message a core call failed with. */
export function coreMessage(err: unknown): string {
  const failure = failureOf(err);
  if (failure) return failure.val;
  return err instanceof Error ? err.message : String(err);
}

/** The cfskit error for a failed core call about `input`. */
export function coreError(input: string, err: unknown): CfskitError {
  const failure = failureOf(err);
  const options = { cause: err };
  switch (failure?.tag) {
    case 'integrity':
      return new IntegrityError(input, failure.val, options);
    case 'limit':
      return new LimitError(input, failure.val, options);
    case 'unsupported':
      return new UnsupportedError(`${input}: ${failure.val}`, { ...options, input });
    case 'malformed':
      return new InputError(input, failure.val, options);
    case undefined:
      // Not the error variant: the core trapped (a bug, or a resource used
      // wrongly); still an error about this input, never a crash.
      return new InputError(input, coreMessage(err), options);
  }
}

/** Runs a core call, naming `input` if it fails. */
export function withInput<T>(input: string, call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw coreError(input, err);
  }
}
