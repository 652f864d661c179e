/** Parsing of option values that citty hands over as strings. */
import { UsageError } from '../common/index.js';

export function parseWholeNumber(option: string, value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new UsageError(`option ${option} needs a whole number (got "${value}")`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new UsageError(`option ${option} is too large (got ${value})`);
  return n;
}

export function parseThreads(value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseWholeNumber('--threads', value);
}
