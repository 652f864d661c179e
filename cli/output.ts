/** How the CLI reports: results to stdout, problems to stderr, exit codes. */
import { CfskitError, UsageError } from '../common/index.js';

export const EXIT_OK = 0;
/** Something the command was asked to do failed. */
export const EXIT_FAILURE = 1;
/** The command line itself was wrong. */
export const EXIT_USAGE = 2;

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function describeError(err: unknown): string {
  if (err instanceof CfskitError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function reportError(command: string, err: unknown): void {
  process.stderr.write(`${['cfskit', command].filter(Boolean).join(' ')}: ${describeError(err)}\n`);
}

export function exitCodeFor(err: unknown): number {
  return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}

/** A failed item in a --json listing. */
export function errorJson(err: unknown): { code: string; message: string } {
  return { code: err instanceof CfskitError ? err.code : 'error', message: describeError(err) };
}
