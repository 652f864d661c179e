/**
 * The npm packages the guest needs at run time: the project's dependencies
 * and uvu (which runs the guest tests), with everything they depend on,
 * found the way Node resolves them. Build tools (typescript, jco, node-gyp)
 * stay out of the guest.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

interface Manifest {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function manifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
}

/** The directory `name` resolves to from package `from`: nearest node_modules up to `root`. */
function resolvePackage(root: string, from: string, name: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || relative(root, dir).startsWith('..')) return undefined;
  }
}

/**
 * Package directories (relative to `root`) needed to run `entries` from the
 * project at `root`. A missing regular dependency is an error; a missing
 * optional or peer one is simply not there at run time either.
 */
export function runtimePackages(root: string, entries: readonly string[]): string[] {
  const found = new Set<string>();
  const visit = (from: string, name: string, required: boolean): void => {
    const dir = resolvePackage(root, from, name);
    if (!dir) {
      if (required) throw new Error(`npm package ${name} (needed by ${relative(root, from) || 'the project'}) is not installed; run npm run setup`);
      return;
    }
    const rel = relative(root, dir);
    if (found.has(rel)) return;
    found.add(rel);
    const m = manifest(dir);
    for (const dep of Object.keys(m.dependencies ?? {})) visit(dir, dep, true);
    for (const dep of Object.keys({ ...m.optionalDependencies, ...m.peerDependencies })) visit(dir, dep, false);
  };
  for (const name of entries) visit(root, name, true);
  return [...found].sort();
}

/** The project's own run-time dependencies, from its package.json. */
export function projectDependencies(root: string): string[] {
  return Object.keys(manifest(root).dependencies ?? {});
}
