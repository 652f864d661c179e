/**
 * Throwaway containers-storage stores made by the real podman: `--root`,
 * `--runroot` and podman's tmpdir all live in one temporary directory, the
 * overlay driver, no host storage.conf or $STORAGE_OPTS leaking in. The
 * store is torn down however the test ends: `podman system reset`, then any
 * mount left under the directory is unmounted, any process still running
 * with the directory on its command line is killed (by pid), and the
 * directory is removed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from './cli.js';

export interface FixtureLayer {
  readonly id: string;
  /** `sha256:<hex>`: the layer's diff digest (OCI diff_id). */
  readonly diffId: string;
}

export interface FixtureImage {
  readonly name: string;
  readonly id: string;
  /** Base first. */
  readonly layers: readonly FixtureLayer[];
}

export interface PodmanStore {
  /** The temporary directory holding everything below. */
  readonly dir: string;
  /** containers-storage root (`--root`). */
  readonly root: string;
  readonly runroot: string;
  /** Runs podman on this store; resolves to stdout, rejects on failure. */
  podman(args: readonly string[], extraOptions?: readonly string[]): Promise<string>;
  /** `podman import TAR NAME`; resolves to the image. */
  importTar(tarPath: string, name: string): Promise<FixtureImage>;
  /** `podman build --isolation=chroot -t NAME CONTEXT`; resolves to the image. */
  build(contextDir: string, name: string, extraOptions?: readonly string[]): Promise<FixtureImage>;
  /** `skopeo copy oci:LAYOUT containers-storage:NAME`: config, manifest and layers kept byte for byte. */
  copyOciLayout(layoutDir: string, name: string): Promise<FixtureImage>;
  /** An image's ID and layers, read straight from images.json and layers.json. */
  image(name: string): Promise<FixtureImage>;
  destroy(): Promise<void>;
}

/** undefined when podman can make overlay stores here, else why not. */
export function havePodman(): string | undefined {
  const r = spawnSync('podman', ['--version'], { stdio: 'ignore' });
  if (r.error || r.status !== 0) return 'podman is not installed (run npm run setup as root)';
  if (process.getuid?.() !== 0) return 'podman fixtures need root (overlay stores with real uids)';
  return undefined;
}

interface ImageJson { id: string; names?: string[]; layer?: string }
interface LayerJson { id: string; parent?: string; 'diff-digest'?: string }

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/** Mount points at or under `dir`, deepest first. */
async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const points = text
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return points.sort((a, b) => b.length - a.length);
}

/** Processes whose command line mentions `dir` (podman children we started). */
async function processesUsing(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(dir)) pids.push(Number(entry));
    } catch {
      // The process ended meanwhile.
    }
  }
  return pids;
}

/**
 * Removes a directory podman stores were made in: processes naming it
 * killed, the overlay mounts podman leaves (it bind-mounts each store's
 * `overlay/` on itself) unmounted, then the tree removed.
 */
export async function removePodmanTree(dir: string): Promise<void> {
  for (const pid of await processesUsing(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  for (const point of await mountsUnder(dir)) spawnSync('umount', ['--lazy', point], { stdio: 'ignore' });
  await rm(dir, { recursive: true, force: true });
}

/** `root` puts the store somewhere of the caller's (a sysroot's composefs/bootc/storage); the rest stays in the temporary directory. */
export async function createPodmanStore(options: { root?: string } = {}): Promise<PodmanStore> {
  const dir = await mkdtemp(join(tmpdir(), 'cfskit-podman-'));
  const root = options.root ?? join(dir, 'root');
  const runroot = join(dir, 'run');
  const conf = join(dir, 'storage.conf');
  await writeFile(conf, `[storage]\ndriver = "overlay"\ngraphroot = "${root}"\nrunroot = "${runroot}"\n`);
  const env: NodeJS.ProcessEnv = { ...process.env, CONTAINERS_STORAGE_CONF: conf, TMPDIR: dir };
  delete env.STORAGE_OPTS;
  delete env.STORAGE_DRIVER;
  const globalOptions = [
    '--root', root, '--runroot', runroot, '--storage-driver', 'overlay', '--tmpdir', join(dir, 'libpod-tmp'),
    '--cgroup-manager', 'cgroupfs', '--events-backend', 'none',
  ];

  const podman = async (args: readonly string[], extraOptions: readonly string[] = []): Promise<string> => {
    const r = await run('podman', [...globalOptions, ...extraOptions, ...args], { env, cwd: dir });
    if (r.status !== 0) throw new Error(`podman ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
    return r.stdout;
  };

  const image = async (name: string): Promise<FixtureImage> => {
    const images = await readJson<ImageJson[]>(join(root, 'overlay-images/images.json'));
    const layers = await readJson<LayerJson[]>(join(root, 'overlay-layers/layers.json'));
    const found = images.find((i) => i.id === name || i.names?.includes(name));
    if (!found) throw new Error(`no image ${name} in ${root}`);
    const chain: FixtureLayer[] = [];
    for (let id = found.layer; id; ) {
      const layer = layers.find((l) => l.id === id);
      // A parent in an additional image store is not in this store's list.
      if (!layer) break;
      chain.unshift({ id: layer.id, diffId: layer['diff-digest'] ?? '' });
      id = layer.parent;
    }
    return { name, id: found.id, layers: chain };
  };

  let destroyed = false;
  const destroy = async (): Promise<void> => {
    if (destroyed) return;
    destroyed = true;
    try {
      await podman(['system', 'reset', '--force']);
    } catch {
      // The store may be half made; what follows cleans up regardless.
    }
    for (const pid of [...(await processesUsing(dir)), ...(options.root === undefined ? [] : await processesUsing(root))]) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    for (const place of options.root === undefined ? [dir] : [root, dir]) {
      for (const point of await mountsUnder(place)) spawnSync('umount', ['--lazy', point], { stdio: 'ignore' });
    }
    await rm(dir, { recursive: true, force: true });
    if (options.root !== undefined) await rm(root, { recursive: true, force: true });
  };

  return {
    dir,
    root,
    runroot,
    podman,
    image,
    destroy,
    async importTar(tarPath, name) {
      await podman(['import', '--quiet', tarPath, name]);
      return image(name);
    },
    async build(contextDir, name, extraOptions = []) {
      await podman(['build', '--quiet', '--isolation=chroot', ...extraOptions, '-t', name, contextDir]);
      return image(name);
    },
    async copyOciLayout(layoutDir, name) {
      const dest = `containers-storage:[overlay@${root}+${runroot}]${name}`;
      const r = await run('skopeo', ['copy', '--quiet', `oci:${layoutDir}`, dest], { env, cwd: dir });
      if (r.status !== 0) throw new Error(`skopeo copy oci:${layoutDir} ${name} failed (${r.status}): ${r.stderr}`);
      return image(name);
    },
  };
}

/** A store for the length of `body`, destroyed afterwards even on failure. */
export async function withPodmanStore<T>(body: (store: PodmanStore) => Promise<T>): Promise<T> {
  const store = await createPodmanStore();
  try {
    return await body(store);
  } finally {
    await store.destroy();
  }
}
