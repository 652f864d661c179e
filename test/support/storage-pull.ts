/**
 * Helpers for tests of the unified pull (`oci pull … --storage-root`):
 * fresh stores and repositories under one work directory, the pull as a
 * CLI run with its --json, and the checks every case shares — the image
 * is in the store for podman, no podman process is left that names the
 * store, and nothing is tagged or visible in a repository after a failure.
 */
import { spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { cfskit, run, type Run } from './cli.js';

export interface StoreDirs {
  readonly repo: string;
  readonly root: string;
  readonly runRoot: string;
}

export interface StoragePullJson {
  manifest: string;
  config: string;
  manifestVerity: string;
  configVerity: string;
  composefsImage: string | null;
  bootImage?: string;
  tag: string;
  imageId: string;
  stats: Record<string, number>;
  storage: { root: string; runRoot: string; created: boolean; stage1: string; podmanVersion: string | null; copiedFrom: string | null; layers: number; layersPresent: number };
}

let count = 0;

/** A new repository (insecure: this kernel has no fs-verity) and the paths of a store not yet made. */
export async function freshTarget(work: string, base = work): Promise<StoreDirs> {
  const n = ++count;
  const repo = join(base, `repo-${n}`);
  const r = await cfskit(['--repo', repo, 'init', '--insecure']);
  assert.is(r.status, 0, r.stderr);
  return { repo, root: join(base, `store-${n}`), runRoot: join(work, `run-${n}`) };
}

export const storageFlags = (t: StoreDirs): string[] => ['--storage-root', t.root, '--run-root', t.runRoot];

export function storagePull(t: StoreDirs, reference: string, extra: readonly string[] = []): Promise<Run> {
  return cfskit(['--repo', t.repo, 'oci', 'pull', reference, ...storageFlags(t), '--progress', 'none', ...extra]);
}

export async function storagePullJson(t: StoreDirs, reference: string, extra: readonly string[] = []): Promise<StoragePullJson> {
  const r = await storagePull(t, reference, [...extra, '--json']);
  assert.is(r.status, 0, `${reference}: ${r.stderr}`);
  return JSON.parse(r.stdout) as StoragePullJson;
}

/** `podman --root … image exists NAME` is true. */
export async function assertInStore(t: { root: string; runRoot: string }, name: string): Promise<void> {
  const r = await run('podman', ['--root', t.root, '--runroot', t.runRoot, '--storage-driver', 'overlay', 'image', 'exists', name]);
  assert.is(r.status, 0, `${name} is in ${t.root}: ${r.stderr}`);
}

/** Pids of processes whose command line names `path` (a podman left behind would). */
export function processesNaming(path: string): number[] {
  const r = spawnSync('pgrep', ['-f', '--', path], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => pid !== process.pid);
}

export function assertNoProcessFor(path: string): void {
  assert.equal(processesNaming(path), [], `no process left running for ${path}`);
}

/** Nothing tagged, no config/manifest stream, no image in the repository. */
export async function assertRepositoryUntouched(repo: string): Promise<void> {
  const refs = await readdir(join(repo, 'streams/refs'), { recursive: true }).catch(() => []);
  assert.equal(refs, [], 'no tag');
  const streams = (await readdir(join(repo, 'streams')).catch(() => [] as string[])).filter((s) => s.startsWith('oci-config-') || s.startsWith('oci-manifest-'));
  assert.equal(streams, [], 'no config or manifest stream');
  const images = (await readdir(join(repo, 'images')).catch(() => [] as string[])).filter((i) => i !== 'refs');
  assert.equal(images, [], 'no composefs image');
}
