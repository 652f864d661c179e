/**
 * The unified pull against real components: Debian's docker-registry on
 * 127.0.0.1 (images pushed once by skopeo), real podman filling a fresh
 * containers-storage (stage 1: a transient `podman system service`, or
 * `podman pull` for other transports), then the zero-copy import from
 * that store (stage 2). After each pull: podman finds the image in the
 * store, every layer stream rebuilds its diff_id, fsck is clean, the
 * composefs image is what compute-id computes, objects are hardlinked
 * (ext4) or reflinked (btrfs) from the store stage 1 filled, and no podman
 * process is left. A re-pull fetches no layer blob (the registry's access
 * log) and imports nothing; images sharing a base share its layer; the
 * progress stream is valid bootc protocol across both stages; --sysroot
 * lays the system out as bootc does; --from-storage-root copies between
 * stores and imports from the target.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultRunRoot } from '../../src/index.js';
import { cfskit, run } from '../support/cli.js';
import { loopFsPrereqs, withLoopFs } from '../support/loopfs.js';
import { writeOciLayout } from '../support/oci-image-fixtures.js';
import { OCI_LAYERS } from '../support/oci-layers.js';
import { pattern } from '../support/pattern.js';
import { file, tarBytes } from '../support/tar-writer.js';
import { havePodman, removePodmanTree } from '../support/podman.js';
import { gated } from '../support/prereq.js';
import { cfskitWithProgressFd, finalEvents, progressProblems } from '../support/progress-protocol.js';
import { checkPulledImage } from '../support/pulled-image.js';
import { registryPrereqs, startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSourceFixtures, registryManifest, SOURCE_IMAGES, type SourceFixtures } from '../support/source-fixtures.js';
import { assertInStore, assertNoProcessFor, freshTarget, storageFlags, storagePull, storagePullJson, type StoragePullJson, type StoreDirs } from '../support/storage-pull.js';

interface Context {
  registry?: TestRegistry;
  fixtures?: SourceFixtures;
  /** The layers of LARGE: files over the 64 KiB below which contents are written, not linked. */
  large?: Buffer[];
  work?: string;
}

const LARGE = 'fixtures/large:1';

function largeLayers(): Buffer[] {
  const files = tarBytes([file('usr/cfskit-large-1', pattern(300 << 10)), file('usr/cfskit-large-2', pattern(200 << 10, 7))]);
  return [...OCI_LAYERS.single(), files];
}

const test = suite<Context>('unified pull: registry → containers-storage → repository', {});
const prereqs = [...registryPrereqs(), havePodman()];
const it = gated(test, ...prereqs);

test.before(async (ctx) => {
  if (prereqs.some((p) => p !== undefined)) return;
  // Lower case: podman names an oci: image after its path.
  ctx.work = join(tmpdir(), `cfskit-storage-pull-${randomBytes(6).toString('hex')}`);
  await mkdir(ctx.work);
  ctx.registry = await startRegistry();
  ctx.fixtures = await pushSourceFixtures(ctx.registry, ctx.work, ['gzip', 'zstd', 'multi', 'base', 'derived']);
  ctx.large = largeLayers();
  await writeOciLayout(join(ctx.work, 'layout-large'), ctx.large);
  await ctx.registry.push(`oci:${join(ctx.work, 'layout-large')}`, LARGE);
});

test.after(async (ctx) => {
  await ctx.registry?.stop();
  if (ctx.work) await removePodmanTree(ctx.work);
});

function need(ctx: Context): { registry: TestRegistry; fixtures: SourceFixtures; large: Buffer[]; work: string } {
  if (!ctx.registry || !ctx.fixtures || !ctx.large || !ctx.work) throw new Error('fixtures were not built');
  return { registry: ctx.registry, fixtures: ctx.fixtures, large: ctx.large, work: ctx.work };
}

/** The store's files and the repository's objects share inodes: stage 2 linked, it did not copy. */
async function assertLinkedFrom(repo: string, root: string): Promise<void> {
  const inStore = await inodes(join(root, 'overlay'));
  const objects = await inodes(join(repo, 'objects'));
  assert.ok([...objects].some((ino) => inStore.has(ino)), `objects of ${repo} are files of ${root}`);
}

const layerGets = (log: readonly string[], from: number, config: string): string[] =>
  log.slice(from).filter((l) => /^GET \/v2\/.+\/blobs\/sha256:[0-9a-f]+ 200$/.test(l) && !l.includes(config));

/** Inode numbers of every regular file under `dir`. */
async function inodes(dir: string): Promise<Set<number>> {
  const found = new Set<number>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    found.add((await stat(join(entry.parentPath, entry.name))).ino);
  }
  return found;
}

it('gzip and zstd: in the store for podman, each layer its diff_id, image = compute-id, objects hardlinked from the store, no podman left', async (ctx) => {
  const { registry, fixtures, work } = need(ctx);
  for (const image of ['gzip', 'zstd'] as const) {
    const t = await freshTarget(work);
    const result = await storagePullJson(t, registry.ref(SOURCE_IMAGES[image]), registry.pullArgs);
    assert.is(result.tag, registry.ref(SOURCE_IMAGES[image]));
    assert.ok(result.storage.created, 'the store was created');
    assert.ok(['compat-api', 'libpod-api'].includes(result.storage.stage1), result.storage.stage1);
    await assertInStore(t, `${registry.host}/${SOURCE_IMAGES[image]}`);
    await checkPulledImage(t.repo, result.tag, result.composefsImage, fixtures.layers[image]);
    assert.is(result.stats.layers, 4);
    assertNoProcessFor(t.root);
  }
});

it('zero-copy against the store stage 1 filled: files over 64 KiB hardlinked on ext4, none copied', async (ctx) => {
  const { registry, large, work } = need(ctx);
  const t = await freshTarget(work);
  const result = await storagePullJson(t, registry.ref(LARGE), registry.pullArgs);
  await checkPulledImage(t.repo, result.tag, result.composefsImage, large);
  assert.ok((result.stats.objectsHardlinked ?? 0) >= 2, JSON.stringify(result.stats));
  assert.ok((result.stats.bytesHardlinked ?? 0) >= (300 + 200) << 10, JSON.stringify(result.stats));
  assert.is(result.stats.objectsCopied, 0, 'nothing copied');
  await assertLinkedFrom(t.repo, t.root);
});

it('an index: --platform picks the image podman stores and the repository imports', async (ctx) => {
  const { registry, fixtures, work } = need(ctx);
  const t = await freshTarget(work);
  const result = await storagePullJson(t, registry.ref(SOURCE_IMAGES.multi), [...registry.pullArgs, '--platform', 'linux/arm64']);
  await checkPulledImage(t.repo, result.tag, result.composefsImage, fixtures.platforms.arm64);
  const arch = await run('podman', ['--root', t.root, '--runroot', t.runRoot, 'image', 'inspect', '--format', '{{.Architecture}}', result.imageId]);
  assert.is(arch.stdout.trim(), 'arm64', arch.stderr);
});

it('a re-pull fetches no layer blob and imports nothing; an image sharing the base fetches and keeps it once', async (ctx) => {
  const { registry, work } = need(ctx);
  const t = await freshTarget(work);
  const base = await registryManifest(registry, SOURCE_IMAGES.base);
  const first = await storagePullJson(t, registry.ref(SOURCE_IMAGES.base), registry.pullArgs);
  let mark = (await registry.accessLog()).length;
  const again = await storagePullJson(t, registry.ref(SOURCE_IMAGES.base), registry.pullArgs);
  assert.equal(layerGets(await registry.accessLog(), mark, base.config.digest), [], 'no layer blob fetched again');
  assert.is(again.storage.layersPresent, again.storage.layers);
  assert.is(again.stats.layersAlreadyPresent, again.stats.layers);
  assert.is((again.stats.objectsCopied ?? 0) + (again.stats.objectsHardlinked ?? 0) + (again.stats.objectsReflinked ?? 0), 0, 'nothing new imported');
  assert.is(again.manifestVerity, first.manifestVerity);

  mark = (await registry.accessLog()).length;
  const derived = await storagePullJson(t, registry.ref(SOURCE_IMAGES.derived), registry.pullArgs);
  const fetched = layerGets(await registry.accessLog(), mark, '-');
  assert.not.ok(fetched.some((l) => l.includes(base.layers[0]?.digest ?? '?')), `base layer not fetched again:\n${fetched.join('\n')}`);
  assert.is(derived.stats.layersAlreadyPresent, 1, 'the base layer stream is shared');
  const layers = JSON.parse(await readFile(join(t.root, 'overlay-layers/layers.json'), 'utf8')) as unknown[];
  assert.is(layers.length, 2, 'the store keeps the base layer once');
});

it('--progress-fd: one valid bootc stream across both stages, pulling then importing, cached layers counted, complete at the end', async (ctx) => {
  const { registry, work } = need(ctx);
  const t = await freshTarget(work);
  await storagePullJson(t, registry.ref(SOURCE_IMAGES.base), registry.pullArgs);
  const r = await cfskitWithProgressFd(['--repo', t.repo, 'oci', 'pull', registry.ref(SOURCE_IMAGES.derived), ...storageFlags(t), ...registry.pullArgs, '--progress', 'none']);
  assert.is(r.status, 0, r.stderr);
  assert.equal(progressProblems(r.lines), []);
  assert.ok(r.lines.length - 1 <= r.seconds * 5 + 1.05, `${r.lines.length} lines in ${r.seconds} s`);
  const manifest = await registryManifest(registry, SOURCE_IMAGES.derived);
  const tasks = r.lines.slice(1).map((l) => (JSON.parse(l) as { task: string }).task);
  assert.ok(tasks.lastIndexOf('pulling') < tasks.indexOf('importing'), 'pulling, then importing');
  const finals = finalEvents(r.lines);
  const pulling = finals.get('ProgressBytes:pulling');
  assert.equal(pulling?.subtasks?.map((s) => s.id), manifest.layers.map((l) => l.digest));
  assert.is(pulling?.bytesCached, manifest.layers[0]?.size, 'the base layer was in the store');
  assert.is(pulling?.bytesTotal, manifest.layers[1]?.size);
  const importing = finals.get('ProgressBytes:importing');
  assert.is(importing?.subtasks?.length, 2);
  assert.is(importing?.stepsCached, 1, 'the base layer was in the repository');
  assert.equal(finals.get('ProgressSteps:importing')?.subtasks?.map((s) => s.id), ['config', 'manifest', 'image']);
});

it('oci: goes through podman pull: the same streams, per-blob steps in the stream', async (ctx) => {
  const { fixtures, work } = need(ctx);
  const t = await freshTarget(work);
  const reference = `oci:${fixtures.layouts.base}`;
  const r = await cfskitWithProgressFd(['--repo', t.repo, 'oci', 'pull', reference, 'base', ...storageFlags(t), '--progress', 'none', '--json']);
  assert.is(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { composefsImage: string; storage: { stage1: string } };
  assert.is(result.storage.stage1, 'podman-pull');
  await checkPulledImage(t.repo, 'base', result.composefsImage, fixtures.layers.base);
  assert.equal(progressProblems(r.lines), []);
  assertNoProcessFor(t.root);
});

it('--sysroot on a scratch directory: store in composefs/bootc/storage, ostree/bootc link, bootc tag', async (ctx) => {
  const { registry, fixtures, work } = need(ctx);
  const sysroot = join(work, `sysroot-${Date.now()}`);
  await mkdir(sysroot);
  const init = await cfskit(['--repo', join(sysroot, 'composefs'), 'init', '--insecure']);
  assert.is(init.status, 0, init.stderr);
  const runRoot = join(work, 'sysroot-run');
  const r = await cfskit(['oci', 'pull', registry.ref(SOURCE_IMAGES.base), '--sysroot', sysroot, '--run-root', runRoot, ...registry.pullArgs, '--progress', 'none', '--json']);
  assert.is(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { tag: string; manifest: string; composefsImage: string; storage: { root: string } };
  assert.is(result.tag, `localhost/bootc-${result.manifest}`);
  assert.is(result.storage.root, join(sysroot, 'composefs/bootc/storage'));
  assert.is(await readlink(join(sysroot, 'ostree/bootc')), '../composefs/bootc');
  // podman's database pins the path a store was made through: the link is checked by where it leads.
  assert.is(await realpath(join(sysroot, 'ostree/bootc/storage')), await realpath(result.storage.root));
  await assertInStore({ root: result.storage.root, runRoot }, `${registry.host}/${SOURCE_IMAGES.base}`);
  await checkPulledImage(join(sysroot, 'composefs'), result.tag, result.composefsImage, fixtures.layers.base);
});

it('--from-storage-root: the image ends in both stores, both named, data imported from the target', async (ctx) => {
  const { registry, large, work } = need(ctx);
  const host = await freshTarget(work);
  await storagePullJson(host, registry.ref(LARGE), registry.pullArgs);
  const target: StoreDirs = await freshTarget(work);
  const name = `${registry.host}/${LARGE}`;
  // The copy reads the host store with the run root cfskit picks for it (under /run): removed afterwards.
  try {
    await fromStorageRoot(host, target, name, large);
  } finally {
    await rm(defaultRunRoot(host.root), { recursive: true, force: true });
  }
});

async function fromStorageRoot(host: StoreDirs, target: StoreDirs, name: string, large: Parameters<typeof checkPulledImage>[3]): Promise<void> {
  const r = await storagePull(target, `containers-storage:${name}`, ['--from-storage-root', host.root, 'installed']);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, `skopeo copy from ${host.root}`);
  assert.match(r.stdout, `store    ${target.root}`);
  await assertInStore(host, name);
  await assertInStore(target, name);
  const again = await storagePullJson(target, `containers-storage:${name}`, ['--from-storage-root', host.root, 'installed']);
  assert.is(again.storage.copiedFrom, host.root);
  await checkPulledImage(target.repo, 'installed', again.composefsImage, large);
  await assertLinkedFrom(target.repo, target.root);
  const objects = await inodes(join(target.repo, 'objects'));
  const fromHost = await inodes(join(host.root, 'overlay'));
  assert.not.ok([...objects].some((ino) => fromHost.has(ino)), 'no object is a file of the host store');
}

it("fidelity's options as for containers-storage: --erofs-version, --xattrs, --bootable make the same images as a containers-storage pull from that store; --expected-digest finds the boot image", async (ctx) => {
  const { registry, work } = need(ctx);
  // base has /boot and user.* xattrs: every mode and format gives another boot image.
  const options = ['--erofs-version', '2', '--bootable', '--xattrs', 'keep-user-xattrs'];
  const t = await freshTarget(work);
  const unified = await storagePullJson(t, registry.ref(SOURCE_IMAGES.base), ['os', ...registry.pullArgs, ...options]);
  assert.ok(unified.bootImage !== undefined, 'a boot image was made');
  // The image reported is the one in the mode asked for, in the format asked for.
  const idOf = (extra: string[]) => cfskit(['--repo', t.repo, 'oci', 'compute-id', unified.tag, '--xattrs', 'keep-user-xattrs', ...extra]);
  const [v2, v1] = await Promise.all([idOf(['--erofs-version', '2']), idOf([])]);
  assert.is(v2.stdout.trim(), unified.composefsImage, `the image is V2: ${v2.stderr}`);
  assert.is.not(v1.stdout.trim(), unified.composefsImage, 'and not the V1 image of a V1 repository');
  // The same store, read by the containers-storage path on its own: stage 2 is that path.
  const direct = join(work, `repo-direct-${randomBytes(4).toString('hex')}`);
  const init = await cfskit(['--repo', direct, 'init', '--insecure']);
  assert.is(init.status, 0, init.stderr);
  const name = `${registry.host}/${SOURCE_IMAGES.base}`;
  const r = await cfskit(['--repo', direct, 'oci', 'pull', `containers-storage:${name}`, 'os', ...storageFlags(t).slice(0, 2), '--progress', 'none', '--json', ...options]);
  assert.is(r.status, 0, r.stderr);
  const cstor = JSON.parse(r.stdout) as StoragePullJson;
  const fields = (j: StoragePullJson) => [j.manifestVerity, j.configVerity, j.composefsImage, j.bootImage];
  assert.equal(fields(unified), fields(cstor), 'streams, image and boot image as the containers-storage pull makes them');
  const [a, b] = await Promise.all([t.repo, direct].map(async (repo) => (await readdir(join(repo, 'streams/refs'), { recursive: true })).sort()));
  assert.equal(a, b, 'the same refs (image variants) in both repositories');

  const search = await freshTarget(work);
  const found = await storagePull(search, registry.ref(SOURCE_IMAGES.base), [...registry.pullArgs, '--bootable', '--expected-digest', unified.bootImage ?? '']);
  assert.is(found.status, 0, found.stderr);
  assert.match(found.stdout, `Boot image: ${unified.bootImage ?? '?'} (xattr-mode=keep-user-xattrs, format-version=V2)`);
});

const btrfs = gated(test, ...prereqs, ...loopFsPrereqs('btrfs'));
btrfs('on btrfs: stage 2 reflinks the files stage 1 wrote', async (ctx) => {
  const { registry, large, work } = need(ctx);
  await withLoopFs('btrfs', {}, async (mountpoint) => {
    const t = await freshTarget(work, mountpoint);
    try {
      const result = await storagePullJson(t, registry.ref(LARGE), registry.pullArgs);
      assert.ok((result.stats.objectsReflinked ?? 0) >= 2, JSON.stringify(result.stats));
      assert.ok((result.stats.bytesReflinked ?? 0) >= (300 + 200) << 10, JSON.stringify(result.stats));
      assert.is((result.stats.objectsHardlinked ?? 0) + (result.stats.objectsCopied ?? 0), 0, JSON.stringify(result.stats));
      await checkPulledImage(t.repo, result.tag, result.composefsImage, large);
    } finally {
      // The store's overlay/ mount must go before the file system can.
      await removePodmanTree(t.root);
    }
  });
});

test.run();
