/**
 * `oci pull containers-storage:…` on real podman images with hard content:
 * every layer comes back byte for byte (== tar-split asm, sha256 == diff_id),
 * the same layer imported from its tar has the same stream, re-imports do
 * nothing, shared layers are shared, fsck is clean, progress is reported.
 */
import { mkdtemp, readdir, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cfskit } from '../support/cli.js';
import { IMAGE_NAMES, type FixtureName } from '../support/cstor-fixtures.js';
import { buildImportFixtures, pull, sha256, tarSplitAsm, type ImportFixtures } from '../support/oci-fixtures.js';
import { havePodman } from '../support/podman.js';
import { gated, haveTool } from '../support/prereq.js';

interface Context {
  fixtures?: ImportFixtures;
  work?: string;
}

const test = suite<Context>('oci pull', {});
const it = gated(test, havePodman(), haveTool('tar-split'));

test.before(async (ctx) => {
  if (havePodman() !== undefined) return;
  ctx.fixtures = await buildImportFixtures();
  ctx.work = await mkdtemp(join(tmpdir(), 'cfskit-pull-'));
});

test.after(async (ctx) => {
  await ctx.fixtures?.store.destroy();
  if (ctx.work) await rm(ctx.work, { recursive: true, force: true });
});

function need(ctx: Context): { fixtures: ImportFixtures; work: string } {
  if (!ctx.fixtures || !ctx.work) throw new Error('fixtures were not built');
  return { fixtures: ctx.fixtures, work: ctx.work };
}

interface PullJson {
  manifest: string;
  config: string;
  manifestVerity: string;
  tag: string;
  stats: Record<string, number>;
}

it('every layer of every image comes back byte for byte; fsck is clean', async (ctx) => {
  const { fixtures, work } = need(ctx);
  const repo = join(work, 'repo');
  assert.is((await cfskit(['--repo', repo, 'init', '--insecure'])).status, 0);
  for (const [key, image] of Object.entries(fixtures.images) as [FixtureName, (typeof fixtures.images)[FixtureName]][]) {
    const r = await pull(repo, fixtures.store.root, IMAGE_NAMES[key], '--json', '--progress', 'none');
    assert.is(r.status, 0, `${key}: ${r.stderr}`);
    const result = JSON.parse(r.stdout) as PullJson;
    assert.is(result.tag, `containers-storage:${IMAGE_NAMES[key]}`);
    assert.is(result.config, `sha256:${image.id}`);
    for (const layer of image.layers) {
      const tar = await cfskit(['--repo', repo, 'oci', 'layer', layer.diffId]);
      assert.is(tar.status, 0, tar.stderr);
      assert.is(sha256(tar.stdoutBytes), layer.diffId, `${key} layer ${layer.id}`);
      assert.ok(tar.stdoutBytes.equals(await tarSplitAsm(fixtures.store.root, layer.id)), `${key} layer ${layer.id} vs tar-split asm`);
    }
  }
  const fsck = await cfskit(['--repo', repo, 'fsck']);
  assert.is(fsck.status, 0, fsck.stdout);
  // What cfskit itself writes (streams, images) is 0644 like composefs-rs's
  // objects, whichever way it was published (stream files are hard linked in).
  for (const dir of ['streams', 'images']) {
    for (const name of await readdir(join(repo, dir))) {
      if (name === 'refs') continue;
      const mode = (await stat(join(repo, dir, name))).mode & 0o7777;
      assert.is(mode.toString(8), '644', `${dir}/${name}`);
    }
  }
  const { images } = JSON.parse((await cfskit(['--repo', repo, 'oci', 'images', '--json'])).stdout) as { images: { name: string; layer_count: number }[] };
  assert.equal(images.map((i) => i.name).sort(), Object.values(IMAGE_NAMES).map((n) => `containers-storage:${n}`).sort());
});

it('a re-import does nothing; images sharing a base layer share its stream', async (ctx) => {
  const { fixtures, work } = need(ctx);
  const repo = join(work, 'repo');
  const again = await pull(repo, fixtures.store.root, IMAGE_NAMES.deleted, '--json');
  assert.is(again.status, 0, again.stderr);
  const stats = (JSON.parse(again.stdout) as PullJson).stats;
  assert.is(stats.layersAlreadyPresent, stats.layers);
  assert.is((stats.objectsReflinked ?? 0) + (stats.objectsHardlinked ?? 0) + (stats.objectsCopied ?? 0), 0);
  const baseLayer = fixtures.images.base.layers[0]?.diffId ?? '';
  assert.is(fixtures.images.sibling.layers[0]?.diffId, baseLayer);
  assert.is(fixtures.images.deleted.layers[0]?.diffId, baseLayer);
  const link = await readlink(join(repo, 'streams', `oci-layer-${baseLayer}`));
  assert.match(link, /^\.\.\/objects\/[0-9a-f]{2}\/[0-9a-f]{126}$/);
});

it('a layer imported from its tar gets the same stream as from containers-storage', async (ctx) => {
  const { fixtures, work } = need(ctx);
  const repo = join(work, 'repo');
  const other = join(work, 'from-tar');
  assert.is((await cfskit(['--repo', other, 'init', '--insecure'])).status, 0);
  for (const image of Object.values(fixtures.images)) {
    for (const layer of image.layers) {
      const tar = await tarSplitAsm(fixtures.store.root, layer.id);
      const r = await cfskit(['--repo', other, 'oci', 'import-layer', layer.diffId], { input: tar });
      assert.is(r.status, 0, r.stderr);
      const fromCstor = await readlink(join(repo, 'streams', `oci-layer-${layer.diffId}`));
      assert.is(r.stdout.trim(), `sha512:${fromCstor.replace(/^\.\.\/objects\/(..)\//, '$1')}`, `layer ${layer.id}`);
    }
  }
  const wrong = await cfskit(['--repo', other, 'oci', 'import-layer', `sha256:${'0'.repeat(64)}`], { input: await tarSplitAsm(fixtures.store.root, fixtures.images.base.layers[0]?.id ?? '') });
  assert.is(wrong.status, 1);
  assert.match(wrong.stderr, `stdin: sha256 is ${fixtures.images.base.layers[0]?.diffId ?? ''}, not the diff_id sha256:${'0'.repeat(64)}`);
});

it('--progress json reports each layer and the end', async (ctx) => {
  const { fixtures, work } = need(ctx);
  const repo = join(work, 'progress');
  assert.is((await cfskit(['--repo', repo, 'init', '--insecure'])).status, 0);
  const started = performance.now();
  const r = await pull(repo, fixtures.store.root, IMAGE_NAMES.copy, '--progress', 'json');
  const ms = performance.now() - started;
  assert.is(r.status, 0, r.stderr);
  const events = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as { stage: string; layer?: string; bytesDone: number; bytesTotal: number });
  const layers = new Set(events.filter((e) => e.stage === 'layer').map((e) => e.layer));
  assert.equal([...layers], fixtures.images.copy.layers.map((l) => l.diffId));
  assert.is(events.at(-1)?.stage, 'done');
  assert.is(events.at(-1)?.bytesDone, events.at(-1)?.bytesTotal);
  assert.ok(events.every((e, i) => i === 0 || e.bytesDone >= (events[i - 1]?.bytesDone ?? 0)), 'bytes only grow');
  // Rate-limited: a layer's start and end, and between them at most one
  // event per 100 ms, not one per file.
  for (const layer of layers) {
    const mine = events.filter((e) => e.layer === layer);
    assert.ok(mine.length >= 2 && mine.length <= 2 + Math.ceil(ms / 100), `${mine.length} events for ${layer} in ${ms.toFixed(0)} ms`);
  }
  assert.match(r.stdout, /^manifest sha256:[0-9a-f]{64}\nconfig   sha256:[0-9a-f]{64}\nverity   [0-9a-f]{128}\ntagged   containers-storage:/);
});

it('bad references and options are named', async (ctx) => {
  const { fixtures, work } = need(ctx);
  const repo = join(work, 'repo');
  const missing = await pull(repo, fixtures.store.root, 'localhost/nope:1');
  assert.is(missing.status, 1);
  assert.match(missing.stderr, /image localhost\/nope:1: not in store/);
  const scheme = await cfskit(['--repo', repo, 'oci', 'pull', 'dir:/srv/image']);
  assert.is(scheme.status, 2);
  assert.match(scheme.stderr, /unknown source "dir:\/srv\/image" \(containers-storage:, oci:, oci-archive:, docker-archive: or docker:\/\/\)/);
  const misplaced = await cfskit(['--repo', repo, 'oci', 'pull', 'containers-storage:x', '--platform', 'linux/arm64', '--tls-verify=false']);
  assert.is(misplaced.status, 2);
  assert.match(misplaced.stderr, /--platform, --tls-verify: not for containers-storage: sources/);
  const other = await cfskit(['--repo', repo, 'oci', 'pull', 'oci:/srv/layout', '--additional-image-store', '/x', '--local-fetch', 'zerocopy']);
  assert.is(other.status, 2);
  assert.match(other.stderr, '--additional-image-store, --local-fetch: for containers-storage: sources (or a pull through --storage-root DIR); oci:/srv/layout is read directly');
  // With --storage-root it is the unified pull (docs/storage-pull.md): podman reads the layout, and says it is not there.
  const through = await cfskit(['--repo', repo, 'oci', 'pull', 'oci:/srv/layout', '--storage-root', join(work, 'through-store'), '--run-root', join(work, 'through-run')]);
  assert.is(through.status, 1, through.stderr);
  assert.match(through.stderr, 'oci:/srv/layout: podman could not pull it: ');
  assert.match(through.stderr, '/srv/layout/index.json: no such file or directory');
  const fetch = await cfskit(['--repo', repo, 'oci', 'pull', 'containers-storage:x', '--local-fetch', 'always']);
  assert.is(fetch.status, 2);
  assert.match(fetch.stderr, /--local-fetch must be one of auto, zerocopy/);
});

test.run();
