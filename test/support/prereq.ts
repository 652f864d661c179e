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
      console.log(`  skip: ${name} (${why})`);
      suite.skip(name, () => undefined);
    }
  };
}
