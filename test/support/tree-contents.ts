/**
 * A repository (or any tree) as bytes: every file below `root` with its
 * sha256, every symlink with its target, sorted by path. Two writes of the
 * same repository compare equal exactly when they wrote the same bytes.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export async function treeContents(root: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const rel = path.slice(root.length + 1);
    if (entry.isFile()) out.push([rel, createHash('sha256').update(await readFile(path)).digest('hex')]);
    else if (entry.isSymbolicLink()) out.push([rel, `-> ${await readlink(path)}`]);
  }
  return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
