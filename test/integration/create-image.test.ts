/**
 * create-image: every test tree into a repository, with the image ID
 * cfsctl computes (the vectors) and compute-id prints; every referenced
 * object stored (reflinked on btrfs, hard-linked on ext4 only when asked);
 * repository images read back by image-objects and dump-files.
 */
import { utimesSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IntegrityError } from '../../common/index.js';
import { closeDigestWorkers } from '../../src/fsverity/digest.js';
import { createRepositoryImage } from '../../src/image/commit.js';
import { openImage } from '../../src/image/reader.js';
import { Repository } from '../../src/repository/index.js';
import { cfskit } from '../support/cli.js';
import { TREES } from '../support/erofs-trees.js';
import { VECTORS, treeId, vectorFile } from '../support/erofs-vectors.js';
import { assertAllShared } from '../support/extents.js';
import { materialize } from '../support/fstree.js';
import { loopFsPrereqs, withLoopFs } from '../support/loopfs.js';
import { pattern } from '../support/pattern.js';
import { gated, haveRoot, haveTool } from '../support/prereq.js';

const prereqs = [haveRoot(), haveTool('getfattr'), haveTool('python3')];
const it = gated(test, ...prereqs);

let base = '';
const treeDir = (name: string): string => join(base, 'trees', name);

test.before(async () => {
  if (prereqs.some((p) => p !== undefined)) return;
  base = await mkdtemp(join(tmpdir(), 'cfskit-create-image-'));
  for (const spec of TREES) {
    await mkdir(treeDir(spec.name), { recursive: true });
    await materialize(treeDir(spec.name), spec);
  }
});

test.after(async () => {
  if (base) await rm(base, { recursive: true, force: true });
  await closeDigestWorkers();
});

async function withRepo<T>(name: string, options: { algorithm?: string; erofsVersion?: 0 | 1 | 2 }, body: (repo: Repository, path: string) => Promise<T>): Promise<T> {
  const path = join(base, name);
  const repo = await Repository.init(path, { insecure: true, ...options });
  try {
    return await body(repo, path);
  } finally {
    await repo.close();
    await rm(path, { recursive: true, force: true });
  }
}

it('every tree: the image ID is cfsctl\'s, each referenced object is stored, a second run stores nothing', async () => {
  await withRepo('repo-all', {}, async (repo) => {
    for (const spec of TREES) {
      const ids = VECTORS.trees[spec.name];
      assert.ok(ids, spec.name);
      const plain = await createRepositoryImage(repo, treeDir(spec.name), { name: spec.name, propagateUsrToRoot: false });
      assert.is(plain.id, treeId(spec.name, 'plain', 'sha512', 1), spec.name);
      const image = openImage(await readFile(repo.objects.pathOf(plain.id)));
      const referenced = image.objects();
      image.close();
      assert.is(plain.objects, referenced.length, `${spec.name}: objects`);
      for (const id of referenced) assert.ok(await repo.objects.has(id), `${spec.name}: object ${id}`);
      assert.is((await repo.images.resolve(`refs/${spec.name}`)).id, plain.id);
      const again = await createRepositoryImage(repo, treeDir(spec.name), { propagateUsrToRoot: false });
      assert.is(again.id, plain.id);
      assert.is(again.methods['already-present'], again.objects, `${spec.name}: nothing new the second time`);
      assert.is(again.imageMethod, 'already-present');
      if (ids.variants.includes('container')) {
        const container = await createRepositoryImage(repo, treeDir(spec.name));
        assert.is(container.id, treeId(spec.name, 'container', 'sha512', 1), `${spec.name} container`);
      }
    }
  });
});

it('a sha256 repository makes sha256 images; a V0 or V2 repository images of its format', async () => {
  await withRepo('repo-256', { algorithm: 'fsverity-sha256-12' }, async (repo) => {
    const created = await createRepositoryImage(repo, treeDir('types'), { propagateUsrToRoot: false });
    assert.is(created.id, treeId('types', 'plain', 'sha256', 1));
  });
  for (const erofsVersion of [0, 2] as const) {
    await withRepo(`repo-v${erofsVersion}`, { erofsVersion }, async (repo) => {
      const created = await createRepositoryImage(repo, treeDir('layout'), { propagateUsrToRoot: false });
      assert.is(created.id, treeId('layout', 'plain', 'sha512', erofsVersion));
      const boot = await createRepositoryImage(repo, treeDir('container'), { bootable: true });
      assert.is(boot.id, treeId('container', 'bootable', 'sha512', erofsVersion));
    });
  }
});

it('a repository whose meta.json asks for an extra format makes both images, naming the default one', async () => {
  await withRepo('repo-extra', {}, async (_repo, path) => {
    const meta = JSON.parse(await readFile(join(path, 'meta.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(path, 'meta.json'), `${JSON.stringify({ ...meta, erofs_formats: { default: 1, extra: [2] } }, null, 2)}\n`);
    const reopened = await Repository.open(path, { write: true });
    try {
      assert.equal(reopened.erofsVersions, [1, 2]);
      const created = await createRepositoryImage(reopened, treeDir('modes'), { name: 'modes', propagateUsrToRoot: false });
      assert.is(created.id, treeId('modes', 'plain', 'sha512', 1));
      assert.equal((await reopened.images.list()).sort(), [treeId('modes', 'plain', 'sha512', 1), treeId('modes', 'plain', 'sha512', 2)].sort());
      assert.equal(await reopened.images.listRefs(), [{ name: 'modes', id: created.id }]);
    } finally {
      await reopened.close();
    }
  });
});

it('the CLI: create-image prints the ID compute-id prints; --json counts how objects were stored', async () => {
  await withRepo('repo-cli', {}, async (_repo, path) => {
    const dir = treeDir('container');
    const computed = await cfskit(['compute-id', dir]);
    // The repository is open in this process: a shared lock, as the CLI takes.
    const r = await cfskit(['--repo', path, 'create-image', dir, 'box']);
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout, `sha512:${computed.stdout}`, 'as cfsctl prints it: the ID with its algorithm');
    const json = await cfskit(['create-image', '--repo', path, '--json', '--no-propagate-usr-to-root', treeDir('sizes')]);
    assert.is(json.status, 0, json.stderr);
    const report = JSON.parse(json.stdout) as { id: string; objects: number; methods: Record<string, number>; bytes: number };
    assert.is(report.id, treeId('sizes', 'plain', 'sha512', 1));
    const stored = Object.values(report.methods).reduce((a, b) => a + b, 0);
    assert.is(stored, report.objects);
    assert.is(report.methods.hardlinked, 0, 'no hard links unless --hardlink');
    // The repository images by ref and by digest, as cfsctl dump-files printed them.
    for (const c of VECTORS.dumpFiles.filter((d) => (d.tree === 'sizes' || d.tree === 'types') && d.version === 1)) {
      if (c.tree === 'types') await cfskit(['--repo', path, 'create-image', '--no-propagate-usr-to-root', treeDir('types'), 'types']);
      const image = c.tree === 'sizes' ? report.id : 'refs/types';
      const out = await cfskit(['--repo', path, 'dump-files', image, ...c.paths, ...(c.backingPathOnly ? ['--backing-path-only'] : [])]);
      assert.is(out.status, 0, out.stderr);
      assert.ok(out.stdoutBytes.equals(vectorFile(c.output)), `${c.output} via ${image}`);
    }
    const objects = await cfskit(['--repo', path, 'image-objects', 'refs/box']);
    assert.is(objects.status, 0, objects.stderr);
    assert.match(objects.stdout, /^(sha512:[0-9a-f]{128}\n)+$/);
    // An image file by path still works, and a name that looks like a file is one.
    const file = join(base, 'box.img');
    await writeFile(file, await readFile(join(path, 'images', computed.stdout.trim())));
    // cfsctl's images: every named image, as JSON.
    const images = await cfskit(['--repo', path, 'images', '--json']);
    assert.equal(JSON.parse(images.stdout), { images: [{ name: 'box', digest: computed.stdout.trim() }, { name: 'types', digest: treeId('types', 'plain', 'sha512', 1) }] });
    const table = await cfskit(['--repo', path, 'images', '--no-trunc']);
    assert.match(table.stdout, new RegExp(`^box +${computed.stdout.trim()}$`, 'm'));
    const byFile = await cfskit(['image-objects', file]);
    assert.is(byFile.stdout, objects.stdout);
    const notRepo = await cfskit(['--repo', path, 'image-objects', './refs/box']);
    assert.is(notRepo.status, 1);
    assert.match(notRepo.stderr, './refs/box: ');
  });
});

it('repository images are verified against their ID before they are read', async () => {
  await withRepo('repo-verify', {}, async (repo, path) => {
    const created = await createRepositoryImage(repo, treeDir('types'), { name: 'types', propagateUsrToRoot: false });
    const object = repo.objects.pathOf(created.id);
    const bytes = await readFile(object);
    bytes.writeUInt8((bytes.at(-1) ?? 0) ^ 0xff, bytes.length - 1);
    await writeFile(object, bytes);
    for (const name of [created.id, 'refs/types']) {
      const r = await cfskit(['--repo', path, 'image-objects', name]);
      assert.is(r.status, 1, name);
      assert.match(r.stderr, `objects/${created.id.slice(0, 2)}/${created.id.slice(2)}: image content digest is`);
    }
    for (const name of ['refs/nope', '../x', `refs/../${created.id}`, created.id.slice(1)]) {
      const r = await cfskit(['--repo', path, 'image-objects', name]);
      assert.ok(r.status !== 0 && r.stderr.length > 0, `${name}: ${r.stderr}`);
    }
  });
});

it('a file that changes after the scan is refused, and no image is linked', async () => {
  await withRepo('repo-changed', {}, async (repo) => {
    const tree = join(base, 'changing');
    await mkdir(join(tree, 'usr'), { recursive: true });
    for (const n of [1, 2]) await writeFile(join(tree, 'usr', `f${n}`), pattern(5000, n));
    const err = await createRepositoryImage(repo, tree, {
      name: 'changing',
      concurrency: 1,
      // After the first object is stored, every file is touched.
      onProgress: () => {
        for (const n of [1, 2]) utimesSync(join(tree, 'usr', `f${n}`), new Date(), new Date(2000, 1, 1));
      },
    }).then(() => undefined, (e: unknown) => e);
    assert.instance(err, IntegrityError);
    assert.match(String(err), /usr\/f[12]: changed between scanning and storing it/);
    assert.equal(await repo.images.list(), []);
  });
});

const SIZES = [65, 5000, 3 * (1 << 20) + 1];

async function sourceTree(dir: string): Promise<void> {
  await mkdir(join(dir, 'usr'), { recursive: true });
  for (const size of SIZES) await writeFile(join(dir, 'usr', `f${size}`), pattern(size, size));
}

gated(test, ...loopFsPrereqs('btrfs'), haveTool('filefrag', ['-V']))('btrfs: a tree on the repository\'s file system is reflinked', async () => {
  await withLoopFs('btrfs', {}, async (mnt) => {
    await sourceTree(join(mnt, 'tree'));
    const repo = await Repository.init(join(mnt, 'repo'), { insecure: true });
    try {
      const created = await createRepositoryImage(repo, join(mnt, 'tree'));
      assert.is(created.methods.reflinked, SIZES.length);
      for (const size of SIZES.filter((s) => s >= 4096)) {
        const image = openImage(await readFile(repo.objects.pathOf(created.id)));
        const id = image.stat(`/usr/f${size}`).objectId ?? '';
        image.close();
        await assertAllShared(repo.objects.pathOf(id), size, `object of f${size}`);
      }
    } finally {
      await repo.close();
    }
  });
});

gated(test, ...loopFsPrereqs('ext4'))('ext4: copies by default (the tree stays independent); --hardlink links the files themselves', async () => {
  await withLoopFs('ext4', {}, async (mnt) => {
    const tree = join(mnt, 'tree');
    await sourceTree(tree);
    const path = join(mnt, 'repo');
    assert.is((await cfskit(['--repo', path, 'init', '--insecure'])).status, 0);
    const copied = await cfskit(['--repo', path, 'create-image', '--json', tree]);
    assert.is(copied.status, 0, copied.stderr);
    assert.is((JSON.parse(copied.stdout) as { methods: Record<string, number> }).methods.copied, SIZES.length);
    for (const size of SIZES) assert.is((await stat(join(tree, 'usr', `f${size}`))).nlink, 1, 'source not linked');

    const other = join(mnt, 'tree2');
    await mkdir(join(other, 'usr'), { recursive: true });
    await writeFile(join(other, 'usr', 'new'), pattern(7000, 99));
    const linked = await cfskit(['--repo', path, 'create-image', '--json', '--hardlink', other]);
    assert.is(linked.status, 0, linked.stderr);
    assert.is((JSON.parse(linked.stdout) as { methods: Record<string, number> }).methods.hardlinked, 1);
    assert.is((await stat(join(other, 'usr', 'new'))).nlink, 2, 'the source is now an object too');
    // Without --hardlink ext4 can only copy, which --zerocopy forbids.
    const third = join(mnt, 'tree3');
    await mkdir(join(third, 'usr'), { recursive: true });
    await writeFile(join(third, 'usr', 'other'), pattern(9000, 7));
    const zerocopy = await cfskit(['--repo', path, 'create-image', '--zerocopy', third]);
    assert.is(zerocopy.status, 1);
    assert.match(zerocopy.stderr, 'copying is not allowed');
  });
});

test.run();
