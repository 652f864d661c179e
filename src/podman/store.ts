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
import { CfskitError, systemError } from '../../common/index.js';
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

/** mkdir -p, the error from the directory itself (a recursive mkdir reports ENOENT for a read-only parent). */
async function makeDirectory(path: string, mode?: number): Promise<void> {
  try {
    await mkdir(path, mode === undefined ? {} : { mode });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT') throw systemError(err, path, 'mkdir');
    try {
      await mkdir(path, { recursive: true, ...(mode === undefined ? {} : { mode }) });
    } catch (again) {
      throw systemError(again, path, 'mkdir');
    }
  }
}

/**
 * Makes sure `store` exists and podman can open it; a store this call
 * created and podman could not initialize is removed again.
 */
export async function ensureStore(store: StoreLocation, options: { podman?: string } = {}): Promise<{ created: boolean }> {
  const created = !(await exists(join(store.root, 'storage.lock')));
  const rootExisted = await exists(store.root);
  await makeDirectory(store.root);
  await makeDirectory(store.runRoot, 0o700);
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
