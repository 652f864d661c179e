/**
 * Reading real containers-storage made by podman: every layer of every
 * fixture image rebuilt by `cfskit cstor layer-tar` equals `tar-split asm`'s
 * output from the same tar-split.gz and diff/, and hashes to the layer's
 * diff_id; the layers hold the hard content the fixtures promise; images
 * are found by every name form; stores chain across additional stores.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closeSync, fstatSync } from 'node:fs';
import { ContainersStorage, layerTarChunks, readLayerEntries, WHOLE_READ_MAX, type StoredLayer } from '../../src/cstor/index.js';
import { TarSplitter, type TarEntry } from '../../src/tar/split.js';
import { cfskit, run } from '../support/cli.js';
import { CAPABILITY, IMAGE_NAMES, NON_UTF8, VERY_LONG_PATH, type FixtureName, withHardContentImages, type HardContentContext } from '../support/cstor-fixtures.js';
import { createPodmanStore, havePodman, type FixtureImage, type PodmanStore } from '../support/podman.js';
import { gated, haveTool } from '../support/prereq.js';

const test = suite<HardContentContext>('cstor', {});
const it = gated(test, havePodman(), haveTool('tar-split'));

withHardContentImages(test);

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function fixtures(ctx: HardContentContext): { store: PodmanStore; images: Record<FixtureName, FixtureImage> } {
  if (!ctx.store || !ctx.images) throw new Error('fixtures were not built');
  return { store: ctx.store, images: ctx.images };
}

/** Every distinct layer of the fixture images. */
function allLayers(images: Record<FixtureName, FixtureImage>): Map<string, string> {
  const layers = new Map<string, string>();
  for (const image of Object.values(images)) for (const l of image.layers) layers.set(l.id, l.diffId);
  return layers;
}

async function tarSplitAsm(root: string, layerId: string): Promise<Buffer> {
  const r = await run('tar-split', [
    'asm', '--input', join(root, 'overlay-layers', `${layerId}.tar-split.gz`), '--path', join(root, 'overlay', layerId, 'diff'),
  ]);
  assert.is(r.status, 0, r.stderr);
  return r.stdoutBytes;
}

it('cstor layer-tar equals tar-split asm and the diff_id, for every layer', async (ctx) => {
  const { store, images } = fixtures(ctx);
  const layers = allLayers(images);
  assert.ok(layers.size >= 8, `only ${layers.size} layers`);
  for (const [id, diffId] of layers) {
    const want = await tarSplitAsm(store.root, id);
    const got = await cfskit(['cstor', 'layer-tar', '--storage-root', store.root, id]);
    assert.is(got.stderr, '', id);
    assert.is(got.status, 0, id);
    assert.ok(got.stdoutBytes.equals(want), `layer ${id}: ${got.stdoutBytes.length} bytes vs tar-split asm ${want.length}`);
    assert.is(sha256(got.stdoutBytes), diffId, `layer ${id} diff_id`);
    // A unique prefix names the layer too.
    const byPrefix = await cfskit(['cstor', 'layer-tar', '--storage-root', store.root, id.slice(0, 16)]);
    assert.ok(byPrefix.stdoutBytes.equals(want));
  }
});

/** The members of a layer, parsed back from the rebuilt tar. */
async function members(layer: StoredLayer): Promise<TarEntry[]> {
  using splitter = new TarSplitter(`layer ${layer.id}`);
  const entries: TarEntry[] = [];
  for await (const chunk of layerTarChunks(layer)) {
    for (const e of splitter.push(chunk)) if (e.kind === 'entry') entries.push(e.entry);
  }
  splitter.finish();
  return entries;
}

it('the layers hold the hard content the fixtures promise', async (ctx) => {
  const { store } = fixtures(ctx);
  const storage = await ContainersStorage.open({ storageRoot: store.root });
  const byImage = async (name: FixtureName): Promise<TarEntry[][]> => {
    const image = await storage.findImage(IMAGE_NAMES[name]);
    return Promise.all((await storage.imageLayers(image)).map((l) => members(l)));
  };
  const path = (e: TarEntry): string => e.path.toString('latin1').replace(/^\.\//, '');
  const find = (entries: TarEntry[], p: string): TarEntry | undefined => entries.find((e) => path(e) === p || path(e) === `${p}/`);
  const [base = []] = await byImage('base');
  assert.is(find(base, 'data/hard-65')?.type, 'hardlink');
  assert.is(find(base, 'data/sym-64')?.type, 'symlink');
  assert.ok((find(base, 'data/sym-long')?.linkPath.length ?? 0) > 100, 'PAX linkpath');
  assert.is(find(base, 'data/exact-64')?.size, 64);
  assert.is(find(base, 'data/exact-65')?.size, 65);
  assert.is(find(base, 'data/empty')?.size, 0);
  assert.is(find(base, 'data/fifo')?.type, 'fifo');
  assert.is((find(base, 'data/setuid')?.mode ?? 0) & 0o7000, 0o4000);
  assert.is((find(base, 'data/setgid-dir')?.mode ?? 0) & 0o7000, 0o2000);
  assert.is((find(base, 'data/sticky')?.mode ?? 0) & 0o7000, 0o1000);
  assert.ok(VERY_LONG_PATH.length > 255 && find(base, VERY_LONG_PATH), 'path over 255 bytes');
  const capable = find(base, 'data/capable');
  assert.equal(capable?.xattrs.map((x) => x.name), ['security.capability', 'user.cfskit']);
  assert.ok(capable?.xattrs[0]?.value.equals(Buffer.from(CAPABILITY, 'latin1')));
  assert.ok(base.filter((e) => path(e).startsWith('data/many/')).length >= 2000, 'many small files');
  const [gnu = []] = await byImage('gnu');
  assert.ok(gnu.some((e) => e.path.length > 100 && e.type === 'file'), 'GNU long name');
  assert.ok(gnu.some((e) => e.linkPath.length > 100), 'GNU long link');
  assert.ok(gnu.some((e) => e.path.includes(NON_UTF8)), 'non-UTF-8 name in a GNU tar');
  const copy = await byImage('copy');
  assert.is(copy.length, 3);
  assert.ok(copy[0]?.some((e) => e.path.includes(NON_UTF8)), 'non-UTF-8 name from COPY');
  assert.ok(copy[1]?.some((e) => path(e).startsWith('later-only/new/deep')), 'directory only in a later layer');
  assert.not.ok(copy[0]?.some((e) => path(e).startsWith('later-only')));
  const [, removed = [], remade = []] = await byImage('deleted');
  assert.ok(find(removed, 'data/.wh.exact-64'), 'whiteout of a file');
  assert.ok(find(removed, 'data/.wh.sticky'), 'whiteout of a directory');
  assert.ok(find(remade, 'data/many/.wh..wh..opq'), 'opaque directory');
  assert.is(find(remade, 'brand/new/fifo')?.type, 'fifo');
  assert.ok(find(remade, 'brand/new/dir'), 'new directories');
});

it('two images share their base layer', async (ctx) => {
  const { images } = fixtures(ctx);
  assert.is(images.deleted.layers[0]?.id, images.base.layers[0]?.id);
  assert.is(images.sibling.layers[0]?.id, images.base.layers[0]?.id);
  assert.is.not(images.deleted.layers[1]?.id, images.sibling.layers[1]?.id);
});

it('the layer entry iterator: segments and open files, verified', async (ctx) => {
  const { store, images } = fixtures(ctx);
  const storage = await ContainersStorage.open({ storageRoot: store.root });
  const layer = await storage.findLayer(images.base.layers[0]?.id ?? '');
  let files = 0;
  let bytes = 0;
  let kept: number | undefined;
  for await (const entry of readLayerEntries(layer)) {
    if (entry.kind === 'segment') {
      bytes += entry.bytes.length;
      continue;
    }
    files++;
    bytes += entry.size;
    assert.ok(entry.size > 0);
    assert.is(fstatSync(entry.fd).size, entry.size);
    assert.is(entry.data?.length, entry.size <= WHOLE_READ_MAX ? entry.size : undefined);
    if (entry.displayName === 'data/big') kept = entry.release();
  }
  assert.ok(files > 1900, `${files} files`);
  assert.is(`${bytes}`, `${layer.diffSize}`);
  // A released descriptor stays open for its new owner.
  assert.ok(kept !== undefined);
  assert.is(fstatSync(kept).size, (1 << 20) + 7);
  closeSync(kept);
});

it('images are found by ID, prefix, name, short name and digest', async (ctx) => {
  const { store, images } = fixtures(ctx);
  await store.podman(['tag', images.sibling.id, 'docker.io/library/cfskit-hub:latest', 'quay.io/cfskit/elsewhere:2']);
  const storage = await ContainersStorage.open({ storageRoot: store.root });
  const id = async (ref: string): Promise<string> => (await storage.findImage(ref)).id;
  const base = images.base.id;
  for (const ref of [base, `sha256:${base}`, base.slice(0, 12), 'localhost/cfskit-base:1', 'cfskit-base:1', `containers-storage:${base.slice(0, 8)}`]) {
    assert.is(await id(ref), base, ref);
  }
  const sibling = images.sibling.id;
  for (const ref of ['cfskit-hub', 'cfskit-hub:latest', 'library/cfskit-hub', 'docker.io/library/cfskit-hub', 'elsewhere:2', 'cfskit/elsewhere:2']) {
    assert.is(await id(ref), sibling, ref);
  }
  const image = await storage.findImage(base);
  const digest = image.digests[0] ?? '';
  assert.match(digest, /^sha256:[0-9a-f]{64}$/);
  for (const ref of [digest, `@${digest}`, `localhost/cfskit-base@${digest}`]) assert.is(await id(ref), base, ref);
  const manifest = JSON.parse((await storage.manifest(image))?.toString() ?? '{}') as { layers?: unknown[] };
  assert.is(manifest.layers?.length, 1);
  const config = JSON.parse((await storage.config(image))?.toString() ?? '{}') as { rootfs?: { diff_ids?: string[] } };
  assert.equal(config.rootfs?.diff_ids, images.base.layers.map((l) => l.diffId));
  for (const [ref, message] of [
    ['elsewhere', /image elsewhere: not in store/],
    ['nosuch:1', /image nosuch:1: not in store/],
    ['Bad/Name', /invalid image name "Bad\/Name"/],
  ] as const) {
    const r = await cfskit(['cstor', 'layers', '--storage-root', store.root, ref]);
    assert.is.not(r.status, 0, ref);
    assert.match(r.stderr, message, ref);
  }
  const listed = await cfskit(['cstor', 'images', '--storage-root', store.root, '--json']);
  const rows = JSON.parse(listed.stdout) as { id: string; names: string[]; layers: { id: string; diffDigest: string }[] }[];
  for (const fixture of Object.values(images)) {
    const row = rows.find((r) => r.id === fixture.id);
    assert.equal(row?.layers.map((l) => [l.id, l.diffDigest]), fixture.layers.map((l) => [l.id, l.diffId]));
  }
});

it('listing while podman rewrites images.json', async (ctx) => {
  const { store, images } = fixtures(ctx);
  let writing = true;
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      await store.podman(['tag', images.gnu.id, `localhost/churn:${i}`]);
      await store.podman(['untag', images.gnu.id, `localhost/churn:${i}`]);
    }
  })();
  try {
    for (let i = 0; i < 8; i++) {
      const r = await cfskit(['cstor', 'images', '--json', '--storage-root', store.root]);
      assert.is(r.status, 0, r.stderr);
      const ids = (JSON.parse(r.stdout) as { id: string }[]).map((x) => x.id);
      for (const image of Object.values(images)) assert.ok(ids.includes(image.id));
    }
  } finally {
    writing = false;
    await writer;
  }
});

it('layer chains cross additional image stores', async (ctx) => {
  const { store } = fixtures(ctx);
  const top = await createPodmanStore();
  try {
    await mkdir(join(top.dir, 'ctx'));
    await writeFile(join(top.dir, 'ctx/Containerfile'), `FROM ${IMAGE_NAMES.base}\nRUN echo on top > /on-top\n`);
    await top.podman(['build', '--quiet', '--isolation=chroot', '-t', 'localhost/on-top:1', join(top.dir, 'ctx')], [
      '--storage-opt', `additionalimagestore=${store.root}`,
    ]);
    const opts = ['--storage-root', top.root, '--additional-image-store', '/nonexistent-store'];
    const bad = await cfskit(['cstor', 'images', ...opts]);
    assert.is(bad.status, 1);
    assert.match(bad.stderr, '/nonexistent-store: no containers-storage here');
    const both = ['--storage-root', top.root, '--additional-image-store', store.root];
    const r = await cfskit(['cstor', 'layers', '--json', ...both, 'on-top:1']);
    assert.is(r.status, 0, r.stderr);
    const layers = JSON.parse(r.stdout) as { id: string; store: string; diffDigest: string }[];
    assert.equal(layers.map((l) => l.store), [store.root, top.root]);
    for (const l of layers) {
      const tar = await cfskit(['cstor', 'layer-tar', ...both, l.id]);
      assert.is(tar.status, 0, tar.stderr);
      assert.is(sha256(tar.stdoutBytes), l.diffDigest);
    }
    // The same through $STORAGE_OPTS, and repeated options.
    const env = { ...process.env, STORAGE_OPTS: `additionalimagestore=${store.root}` };
    const viaEnv = await cfskit(['cstor', 'layers', '--json', 'on-top:1'], {
      env: { ...env, CONTAINERS_STORAGE_CONF: join(top.dir, 'storage.conf') },
    });
    assert.is(viaEnv.status, 0, viaEnv.stderr);
    assert.equal((JSON.parse(viaEnv.stdout) as { id: string }[]).map((l) => l.id), layers.map((l) => l.id));
    const twice = await cfskit(['cstor', 'images', '--json', ...both, '--additional-image-store', store.root]);
    assert.is(twice.status, 0, twice.stderr);
  } finally {
    await top.destroy();
  }
});

test.run();
