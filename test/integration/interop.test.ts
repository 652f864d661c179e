/**
 * cfskit beside cfsctl 0.9.0, both ways, when $CFSCTL names a cfsctl the
 * developer built (composefs-rs is packaged nowhere; without it these tests
 * are skipped, saying so, also under CI). For the OCI fixtures pulled from
 * one containers-storage into a V1 and a V2 repository by each tool:
 *
 * - the same meta.json, the same layer streams, and for one-layer images
 *   the same config and manifest streams (cfsctl orders several layers'
 *   refs by a hash map);
 * - each tool's `fsck` and `oci fsck` pass on the other's repository;
 * - `oci compute-id`, `oci dump`, `oci inspect`, `oci images --json` of
 *   either tool on either repository agree;
 * - each tool mounts the other's images and both mounts show the same tree;
 * - an image with names that are not UTF-8: cfskit pulls it, cfsctl's
 *   pull fails and leaves a cut-short layer stream, which cfskit's
 *   `oci fsck` names (cfsctl's does not).
 *
 * The cfsctl used (its path, version and composefs-rs commit, when it sits
 * in a git checkout) is printed with the results.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, readlink, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cfskit, run } from '../support/cli.js';
import { composefsPrereqs, isMountpoint } from '../support/composefs.js';
import { OCI_FIXTURES, writeOciLayout } from '../support/oci-image-fixtures.js';
import { OCI_LAYERS } from '../support/oci-layers.js';
import { idKey, loadOciVectors } from '../support/oci-vectors.js';
import { createPodmanStore, havePodman, type FixtureImage, type PodmanStore } from '../support/podman.js';
import { gated, haveCfsctl, haveTool, optional } from '../support/prereq.js';
import { snapshot } from '../support/snapshot.js';

const CFSCTL = process.env.CFSCTL ?? '';
const VECTORS = loadOciVectors();
const FIXTURES = ['single', 'layers', 'selinux'] as const;

interface Context {
  store?: PodmanStore;
  images?: Map<string, FixtureImage>;
  dir?: string;
}

const test = suite<Context>('interop', {});
const needs = haveCfsctl();
const it = needs === undefined ? gated(test, havePodman(), haveTool('skopeo')) : optional(test, needs);
const mounting = needs === undefined ? gated(test, havePodman(), haveTool('skopeo'), ...composefsPrereqs()) : optional(test, needs);

/** cfsctl's version and, if it was built in a git checkout, that checkout's commit. */
function identify(bin: string): string {
  const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
  for (let d = dirname(bin); d !== dirname(d); d = dirname(d)) {
    const r = spawnSync('git', ['-C', d, 'rev-parse', 'HEAD'], { encoding: 'utf8' });
    if (r.status === 0) return `${bin}: ${version}, composefs-rs ${r.stdout.trim()}`;
  }
  return `${bin}: ${version} (commit unknown: not in a git checkout)`;
}

test.before(async (ctx) => {
  if (needs !== undefined || havePodman() !== undefined) return;
  console.log(`  cfsctl ${identify(CFSCTL)}; goldens from ${VECTORS?.cfsctl ?? '?'}`);
  ctx.dir = await mkdtemp(join(tmpdir(), 'cfskit-interop-'));
  ctx.store = await createPodmanStore();
  ctx.images = new Map();
  for (const name of [...FIXTURES, 'names'] as const) {
    const layout = join(ctx.store.dir, `layout-${name}`);
    await writeOciLayout(layout, OCI_LAYERS[name]());
    ctx.images.set(name, await ctx.store.copyOciLayout(layout, OCI_FIXTURES[name].tag));
  }
});

test.after(async (ctx) => {
  await ctx.store?.destroy();
  if (ctx.dir) await rm(ctx.dir, { recursive: true, force: true });
});

function env(store: PodmanStore): NodeJS.ProcessEnv {
  return { ...process.env, CONTAINERS_STORAGE_ROOT: store.root, RUST_BACKTRACE: '0' };
}

async function cfsctl(repo: string, args: readonly string[], store?: PodmanStore): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return run(CFSCTL, ['--repo', repo, ...args], store ? { env: env(store) } : {});
}

async function ok(what: string, r: Promise<{ status: number | null; stdout: string; stderr: string }>): Promise<string> {
  const done = await r;
  assert.is(done.status, 0, `${what}: ${done.stderr}`);
  return done.stdout;
}

const targets = async (repo: string, prefix: string): Promise<Record<string, string>> => {
  const out: Record<string, string> = {};
  for (const n of (await readdir(join(repo, 'streams'))).filter((x) => x.startsWith(prefix)).sort()) out[n] = await readlink(join(repo, 'streams', n));
  return out;
};

interface Repos {
  /** cfsctl's repository. */
  c: string;
  /** cfskit's. */
  k: string;
}

const made = new Map<1 | 2, Repos>();

async function pullBoth(ctx: Context, version: 1 | 2): Promise<Repos> {
  const found = made.get(version);
  if (found) return found;
  const { store, images, dir } = ctx;
  if (!store || !images || !dir) throw new Error('fixtures were not built');
  const repos = { c: join(dir, `cfsctl-v${version}`), k: join(dir, `cfskit-v${version}`) };
  await ok('cfsctl init', cfsctl(repos.c, ['init', '--insecure', '--erofs-version', String(version)]));
  await ok('cfskit init', cfskit(['--repo', repos.k, '--erofs-version', String(version), 'init', '--insecure']));
  for (const name of FIXTURES) {
    const ref = `containers-storage:${images.get(name)?.name}`;
    await ok(`cfsctl pull ${name}`, cfsctl(repos.c, ['oci', 'pull', '--local-fetch', 'auto', ref, name], store));
    await ok(`cfskit pull ${name}`, cfskit(['--repo', repos.k, 'oci', 'pull', '--progress', 'none', '--storage-root', store.root, ref, name]));
  }
  made.set(version, repos);
  return repos;
}

for (const version of [1, 2] as const) {
  it(`V${version}: the same meta.json and layer streams; one-layer images' config and manifest streams too`, async (ctx) => {
    const { c, k } = await pullBoth(ctx, version);
    assert.is(await readFile(join(k, 'meta.json'), 'utf8'), await readFile(join(c, 'meta.json'), 'utf8'));
    assert.equal(await targets(k, 'oci-layer-'), await targets(c, 'oci-layer-'));
    for (const name of ['single', 'selinux']) {
      const config = `oci-config-sha256:${ctx.images?.get(name)?.id}`;
      assert.is(await readlink(join(k, 'streams', config)), await readlink(join(c, 'streams', config)), `${name} config stream`);
      const tag = await readlink(join(k, 'streams/refs/oci', name));
      assert.is(await readlink(join(k, 'streams', tag.replace('../../', ''))), await readlink(join(c, 'streams', tag.replace('../../', ''))), `${name} manifest stream`);
    }
  });

  it(`V${version}: each tool's fsck and oci fsck pass on the other's repository`, async (ctx) => {
    const { c, k } = await pullBoth(ctx, version);
    assert.match(await ok('cfsctl fsck', cfsctl(k, ['fsck'])), /^status: ok$/m);
    assert.match(await ok('cfsctl oci fsck', cfsctl(k, ['oci', 'fsck'])), /^oci images: 3\/3 ok$/m);
    assert.match(await ok('cfskit fsck', cfskit(['--repo', c, 'fsck'])), /^status: ok$/m);
    assert.match(await ok('cfskit oci fsck', cfskit(['--repo', c, 'oci', 'fsck'])), /^oci images: 3\/3 ok$/m);
  });

  it(`V${version}: compute-id, dump, inspect and images agree whichever tool reads whichever repository`, async (ctx) => {
    const { c, k } = await pullBoth(ctx, version);
    for (const name of FIXTURES) {
      const want = VECTORS?.images[name]?.ids[idKey(version)];
      for (const extra of [[], ['--xattrs', 'keep-user-xattrs'], ['--bootable']]) {
        if (name === 'layers' && extra[0] === '--bootable') continue;
        const ids = [
          await ok('cfsctl', cfsctl(c, ['oci', 'compute-id', ...extra, name])),
          await ok('cfsctl', cfsctl(k, ['oci', 'compute-id', ...extra, name])),
          await ok('cfskit', cfskit(['--repo', c, 'oci', 'compute-id', ...extra, name])),
          await ok('cfskit', cfskit(['--repo', k, 'oci', 'compute-id', ...extra, name])),
        ];
        assert.equal(new Set(ids).size, 1, `${name} ${extra.join(' ')}: ${ids.join(' / ')}`);
        if (extra.length === 0) assert.is(ids[0], `${want}\n`, `${name}: the golden`);
        const dumps = [await ok('cfsctl', cfsctl(k, ['oci', 'dump', ...extra, name])), await ok('cfskit', cfskit(['--repo', c, 'oci', 'dump', ...extra, name]))];
        assert.is(dumps[0], dumps[1], `${name} ${extra.join(' ')} dumpfile`);
      }
      const inspect = [await ok('cfsctl', cfsctl(k, ['oci', 'inspect', name])), await ok('cfskit', cfskit(['--repo', c, 'oci', 'inspect', name]))];
      assert.is(inspect[0], inspect[1], `${name} inspect`);
    }
    for (const repo of [c, k]) {
      const theirs = await ok('cfsctl', cfsctl(repo, ['oci', 'images', '--json']));
      const ours = await ok('cfskit', cfskit(['--repo', repo, 'oci', 'images', '--json']));
      // cfsctl lists in directory order, cfskit by name.
      const byName = (text: string): unknown[] =>
        (JSON.parse(text) as { images: { name: string }[] }).images.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      assert.equal(byName(ours), byName(theirs), `oci images --json of ${repo}`);
      assert.equal(Object.keys(JSON.parse(ours) as object), ['images']);
    }
  });
}

mounting('V1: each tool mounts the other`s images; both mounts show the same tree', async (ctx) => {
  const { c, k } = await pullBoth(ctx, 1);
  for (const name of FIXTURES) {
    const ours = await mkdtemp(join(tmpdir(), 'cfskit-interop-k-'));
    const theirs = await mkdtemp(join(tmpdir(), 'cfskit-interop-c-'));
    try {
      await ok('cfskit mount', cfskit(['--repo', c, 'oci', 'mount', name, ours]));
      await ok('cfsctl mount', cfsctl(k, ['oci', 'mount', name, theirs]));
      const small = (_: string, size: number): boolean => size <= 4096;
      assert.equal(await snapshot(ours, small), await snapshot(theirs, small), name);
    } finally {
      if (isMountpoint(ours)) await cfskit(['unmount', ours]);
      if (isMountpoint(theirs)) await run('umount', [theirs]);
      await rmdir(ours).catch(() => undefined);
      await rmdir(theirs).catch(() => undefined);
    }
  }
});

it('names that are not UTF-8: cfskit pulls them; cfsctl leaves a cut-short layer stream that cfskit`s oci fsck names', async (ctx) => {
  const { store, images, dir } = ctx;
  if (!store || !images || !dir) throw new Error('fixtures were not built');
  const image = images.get('names');
  const ref = `containers-storage:${image?.name}`;
  const k = join(dir, 'names-cfskit');
  await ok('cfskit init', cfskit(['--repo', k, 'init', '--insecure']));
  await ok('cfskit pull', cfskit(['--repo', k, 'oci', 'pull', '--progress', 'none', '--storage-root', store.root, ref, 'names']));
  assert.is(await ok('cfskit compute-id', cfskit(['--repo', k, 'oci', 'compute-id', 'names'])), `${VECTORS?.images.names?.ids[idKey(1)]}\n`);
  assert.match(await ok('cfsctl oci fsck', cfsctl(k, ['oci', 'fsck'])), /^oci images: 1\/1 ok$/m, 'cfsctl accepts what cfskit pulled');
  const c = join(dir, 'names-cfsctl');
  await ok('cfsctl init', cfsctl(c, ['init', '--insecure']));
  const failed = await cfsctl(c, ['oci', 'pull', '--local-fetch', 'auto', ref, 'names'], store);
  assert.is.not(failed.status, 0, 'cfsctl 0.9.0 cannot import names that are not UTF-8');
  assert.match(await ok('cfsctl fsck', cfsctl(c, ['oci', 'fsck'])), /^status: ok$/m, 'and its fsck finds nothing wrong');
  const ours = await cfskit(['--repo', c, 'oci', 'fsck']);
  assert.is(ours.status, 1);
  const diffId = image?.layers[0]?.diffId ?? '';
  assert.match(ours.stdout, `  - fsck: layer-stream-invalid: streams/oci-layer-${diffId}: ${diffId}: after `);
});

test.run();
