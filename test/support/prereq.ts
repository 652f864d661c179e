/**
 * Prerequisites of tests that need real tools or privileges. A test whose
 * prerequisite is absent is skipped with the reason printed, except under
 * CI=true, where it fails: CI must run everything.
 */
import { spawnSync } from 'node:child_process';
import type { Test } from 'uvu';

const onCI = process.env.CI === 'true';
const cache = new Map<string, string | undefined>();

/** undefined when `tool` runs, else why not. */
export function haveTool(tool: string, args: string[] = ['--version']): string | undefined {
  const key = `tool:${tool}`;
  if (!cache.has(key)) {
    const r = spawnSync(tool, args, { stdio: 'ignore' });
    cache.set(key, r.error ? `${tool} is not installed (run npm run setup as root)` : undefined);
  }
  return cache.get(key);
}

export function haveRoot(): string | undefined {
  return process.getuid?.() === 0 ? undefined : 'needs root';
}

type Body<T> = Parameters<Test<T>>[1];

/**
 * A way to register tests on `suite` that need every prerequisite: with one
 * missing they are skipped (saying why), or under CI=true they fail.
 */
export function gated<T>(suite: Test<T>, ...missing: (string | undefined)[]): (name: string, body: Body<T>) => void {
  const reasons = missing.filter((m): m is string => m !== undefined);
  if (reasons.length === 0) return (name, body) => suite(name, body);
  const why = reasons.join('; ');
  return (name) => {
    if (onCI) {
      suite(name, () => {
        throw new Error(`prerequisite missing under CI=true: ${why}`);
      });
    } else {
      skip(suite, name, why);
    }
  };
}

/** Registers `name` as skipped, saying why. */
function skip<T>(suite: Test<T>, name: string, why: string): void {
  console.log(`  skip: ${name} (${why})`);
  suite.skip(name, () => undefined);
}

/**
 * The cfsctl a developer built, named by $CFSCTL (composefs-rs 0.9 is not
 * packaged anywhere, and its build is not part of cfskit's setup).
 * undefined when it runs, else why not. Tests that compare against it are
 * `optional`: without it they are skipped saying so, also under CI=true.
 */
export function haveCfsctl(): string | undefined {
  const bin = process.env.CFSCTL;
  if (!bin) return '$CFSCTL names no cfsctl binary (build composefs-rs 0.9.0 and set CFSCTL to its target/release/cfsctl)';
  const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `$CFSCTL (${bin}) does not run: ${r.error?.message ?? r.stderr}`;
  return undefined;
}

/**
 * Like `gated`, for a prerequisite the developer provides rather than the
 * machine (`haveCfsctl`): missing, the tests are skipped with the reason
 * even under CI=true, where nothing provides it.
 */
export function optional<T>(suite: Test<T>, reason: string | undefined): (name: string, body: Body<T>) => void {
  if (reason === undefined) return (name, body) => suite(name, body);
  return (name) => skip(suite, name, reason);
}
