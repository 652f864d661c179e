/**
 * Shared by the import tests: one podman store with the hard-content
 * images, built once per test file, and helpers to read a repository.
 */
import { createHash } from 'node:crypto';
import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { cfskit, run } from './cli.js';
import { buildHardContentImages, type FixtureName } from './cstor-fixtures.js';
import { createPodmanStore, type FixtureImage, type PodmanStore } from './podman.js';

export interface ImportFixtures {
  store: PodmanStore;
  images: Record<FixtureName, FixtureImage>;
}

export async function buildImportFixtures(): Promise<ImportFixtures> {
  const store = await createPodmanStore();
  try {
    return { store, images: await buildHardContentImages(store) };
  } catch (err) {
    await store.destroy();
    throw err;
  }
}

export const sha256 = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** `tar-split asm` of a layer: the reference rebuild of its tar. */
export async function tarSplitAsm(root: string, layerId: string): Promise<Buffer> {
  const r = await run('tar-split', [
    'asm', '--input', join(root, 'overlay-layers', `${layerId}.tar-split.gz`), '--path', join(root, 'overlay', layerId, 'diff'), '--output', '-',
  ]);
  if (r.status !== 0) throw new Error(`tar-split asm ${layerId}: ${r.stderr}`);
  return r.stdoutBytes;
}

/** Where every stream and ref link of a repository points: its visible state. */
export async function streamLinks(repo: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(join(repo, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = `${rel}/${e.name}`;
      if (e.isDirectory()) await walk(path);
      else if (e.isSymbolicLink()) out.push(`${path} -> ${await readlink(join(repo, path))}`);
      else out.push(path);
    }
  };
  await walk('streams');
  await walk('images');
  return out.sort();
}

export async function pull(repo: string, root: string, image: string, ...extra: string[]): Promise<Awaited<ReturnType<typeof cfskit>>> {
  return cfskit(['--repo', repo, 'oci', 'pull', `containers-storage:${image}`, '--storage-root', root, ...extra]);
}
