/**
 * The store a unified pull fills: created if missing (podman initializes
 * it, as bootc's podstorage.rs creates its store with `podman images`),
 * with a run root of its own unless one is given.
 *
 * podman records a store's root and run root in its database the first
 * time it opens it and refuses other paths afterwards ("database
 * configuration mismatch"), so the default run root is not a fresh
 * temporary directory but one fixed per store: `/run/cfskit/storage-<h>`
 * for root (`$XDG_RUNTIME_DIR/cfskit/…` or the temporary directory
 * otherwise), `<h>` from the store's absolute path.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CfskitError, systemError } from '../errors.js';
import { podmanMessage, runBounded, storeArgs, withStoreEnv, type StoreLocation } from './run.js';

/** The run root cfskit uses for `root` when none is given. */
export function defaultRunRoot(root: string): string {
  const hash = createHash('sha256').update(resolve(root)).digest('hex').slice(0, 16);
  const base = process.getuid?.() === 0 ? '/run' : (process.env.XDG_RUNTIME_DIR ?? tmpdir());
  return join(base, 'cfskit', `storage-${hash}`);
}

export function storeLocation(root: string, runRoot?: string): StoreLocation {
  return { root: resolve(root), runRoot: resolve(runRoot ?? defaultRunRoot(root)) };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw systemError(err, path, 'stat');
  }
}

/**
 * Makes sure `store` exists and podman can open it; a store this call
 * created and podman could not initialize is removed again.
 */
export async function ensureStore(store: StoreLocation, options: { podman?: string } = {}): Promise<{ created: boolean }> {
  const created = !(await exists(join(store.root, 'storage.lock')));
  const rootExisted = await exists(store.root);
  try {
    await mkdir(store.root, { recursive: true });
    await mkdir(store.runRoot, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw systemError(err, store.root, 'mkdir');
  }
  if (!created) return { created };
  try {
    const ran = await withStoreEnv(store, {}, (env) => runBounded(options.podman ?? 'podman', [...storeArgs(store), 'images', '--quiet'], { env, subject: store.root }));
    if (ran.status !== 0) throw new CfskitError('system', `${store.root}: podman could not create a containers-storage here: ${podmanMessage(ran)}`);
  } catch (err) {
    if (!rootExisted) await rm(store.root, { recursive: true, force: true });
    throw err;
  }
  return { created };
}
