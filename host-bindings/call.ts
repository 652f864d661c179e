/**
 * Calling the addon from a typed wrapper: its absence becomes a
 * HostUnavailableError (through nativeHost, warned about once), a failed
 * system call a SystemError naming the input. The addon's own TypeError and
 * RangeError for bad arguments pass through unchanged: they are bugs in
 * the caller, not conditions to handle.
 */
import { Buffer } from 'node:buffer';
import { errnoOf } from '../common/index.js';
import { nativeHost, toSystemError, type NativeHost, type PathArg } from './native.js';

export async function hostCall<T>(feature: string, input: string, call: (host: NativeHost) => Promise<T>): Promise<T> {
  const host = nativeHost(feature);
  try {
    return await call(host);
  } catch (err) {
    throw errnoOf(err) === undefined ? err : toSystemError(err, input);
  }
}

/** A path or descriptor as error messages show it. */
export function describe(target: PathArg | number): string {
  if (typeof target === 'number') return `fd ${target}`;
  return Buffer.isBuffer(target) ? target.toString('utf8') : target;
}
