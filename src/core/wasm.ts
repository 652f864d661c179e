/**
 * The wasm core, instantiated once per thread (each worker gets its own).
 * Errors the core returns become InputErrors naming the caller's input.
 */
import * as core from '../../gen/wasm-core/cfskit-core.js';
import { InputError } from '../errors.js';

export const fsverity = core.fsverity;
export const splitstream = core.splitstream;
export const composefs = core.composefs;
export const tar = core.tar;
export const tarsplit = core.tarsplit;
export const oci = core.oci;
export const zstd = core.zstd;

/** The message a core call failed with; jco wraps `result` errors. */
export function coreMessage(err: unknown): string {
  if (err instanceof Error) {
    const payload: unknown = (err as Error & { payload?: unknown }).payload;
    return typeof payload === 'string' ? payload : err.message;
  }
  return String(err);
}

/** Runs a core call, naming `input` if it fails. */
export function withInput<T>(input: string, call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw new InputError(input, coreMessage(err), { cause: err });
  }
}
