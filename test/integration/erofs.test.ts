/**
 * composefs images of real directories: the test trees of erofs-trees.ts
 * are materialized on disk (as root), and cfskit must print exactly what
 * cfsctl printed for them (test/vectors/erofs). Every image passes
 * fsck.erofs, and the kernel, loop-mounting it, shows the source tree.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeDigestWorkers } from '../../src/fsverity/digest.js';
import { computeImageId, createDumpfile, createImage, imageFromDumpfile } from '../../src/image/compute.js';
import type { ScanOptions } from '../../src/image/scan.js';
import { openImage } from '../../src/image/reader.js';
import { cfskit, check } from '../support/cli.js';
import { TREES } from '../support/erofs-trees.js';
import { VECTORS, dumpName, treeId, vectorFile, type Variant } from '../support/erofs-vectors.js';
import { materialize } from '../support/fstree.js';
import { withErofsMount } from '../support/mount.js';
import { gated, haveRoot, haveTool } from '../support/prereq.js';
import { snapshot, type EntryView } from '../support/snapshot.js';

const prereqs = [haveRoot(), haveTool('getfattr'), haveTool('python3'), haveTool('fsck.erofs', ['-V'])];
const it = gated(test, ...prereqs);
const mounting = gated(test, ...prereqs, haveTool('mount', ['-V']), haveTool('losetup', ['-V']));

let base = '';
const treeDir = (name: string): string => join(base, name);

test.before(async () => {
  if (prereqs.some((p) => p !== undefined)) return;
  base = await mkdtemp(join(tmpdir(), 'cfskit-erofs-'));
  for (const spec of TREES) {
    await check('mkdir', [treeDir(spec.name)]);
    await materialize(treeDir(spec.name), spec);
  }
});

test.after(async () => {
  if (base) await rm(base, { recursive: true, force: true });
  await closeDigestWorkers();
});

const variantOptions = (variant: Variant): ScanOptions =>
  ({
    plain: { propagateUsrToRoot: false },
    container: {},
    'container-user': { xattrs: 'keep-user-xattrs' },
    bootable: { bootable: true },
  })[variant] as ScanOptions;

it('compute-id equals cfsctl compute-id for every tree, variant, algorithm and EROFS format', async () => {
  for (const spec of TREES) {
    const tree = VECTORS.trees[spec.name];
    assert.ok(tree, spec.name);
    for (const variant of tree.variants) {
      for (const hashAlg of ['sha512', 'sha256'] as const) {
        for (const erofsVersion of [0, 1, 2] as const) {
          const id = await computeImageId(treeDir(spec.name), { hashAlg, erofsVersion, ...variantOptions(variant) });
          assert.is(id.hex, treeId(spec.name, variant, hashAlg, erofsVersion), `${spec.name} ${variant} ${hashAlg} v${erofsVersion}`);
        }
      }
    }
  }
  // And the CLI prints the same, with cfsctl's options (V1 by default).
  const r = await cfskit(['compute-id', '--hash-alg', 'sha256', treeDir('container')]);
  assert.is(r.stderr, '');
  assert.is(r.stdout, `${treeId('container', 'container', 'sha256', 1)}\n`);
  const v2 = await cfskit(['--erofs-version', '2', 'compute-id', '--xattrs', 'keep-user-xattrs', treeDir('container')]);
  assert.is(v2.stdout, `${treeId('container', 'container-user', 'sha512', 2)}\n`, v2.stderr);
  const boot = await cfskit(['--hash', 'sha256', 'compute-id', '--bootable', treeDir('container')]);
  assert.is(boot.stdout, `${treeId('container', 'bootable', 'sha256', 1)}\n`, boot.stderr);
  const noUsr = await cfskit(['compute-id', treeDir('types')]);
  assert.is(noUsr.status, 1);
  assert.match(noUsr.stderr, '/usr does not exist');
  const badVersion = await cfskit(['--erofs-version', '3', 'compute-id', treeDir('types')]);
  assert.is(badVersion.status, 2);
  assert.match(badVersion.stderr, 'option --erofs-version must be one of 0, 1, 2 (got "3")');
});

it('compute-karg prints cfsctl\'s kernel argument for each format', async () => {
  const kargs = VECTORS.trees.container?.kargs;
  assert.ok(kargs);
  const dir = treeDir('container');
  assert.is((await cfskit(['compute-karg', dir])).stdout, `${kargs.v1}\n`);
  assert.is((await cfskit(['--erofs-version', '2', 'compute-karg', dir])).stdout, `${kargs.v2}\n`);
  assert.is((await cfskit(['--hash', 'sha256', '--insecure', 'compute-karg', dir])).stdout, `${kargs.insecure}\n`);
  assert.match(kargs.v1, /^composefs\.digest=v1-sha512-12:[0-9a-f]{128}$/);
});

it('create-dumpfile equals cfsctl create-dumpfile byte for byte, every variant', async () => {
  for (const spec of TREES) {
    for (const variant of VECTORS.trees[spec.name]?.variants ?? []) {
      const dump = await createDumpfile(treeDir(spec.name), variantOptions(variant));
      assert.ok(dump.equals(vectorFile(dumpName(spec.name, variant))), `${spec.name} ${variant}`);
    }
  }
  const r = await cfskit(['create-dumpfile', '--no-propagate-usr-to-root', treeDir('names')]);
  assert.ok(r.stdoutBytes.equals(vectorFile('names.dump')));
  const user = await cfskit(['create-dumpfile', '--xattrs', 'keep-user-xattrs', treeDir('container')]);
  assert.ok(user.stdoutBytes.equals(vectorFile('container.container-user.dump')), user.stderr);
});

it('round trips: tree → dumpfile → tree keeps the ID; image → read back gives the dumpfile', async () => {
  for (const spec of TREES) {
    const dir = treeDir(spec.name);
    const image = await createImage(dir, { propagateUsrToRoot: false });
    const dump = await createDumpfile(dir, { propagateUsrToRoot: false });
    assert.is(imageFromDumpfile(dump).hex, image.hex, spec.name);
    // composefs-rs reads a file's own overlay whiteout and opaque markers,
    // and root whiteouts named like the stubs, as not there (the dump-files
    // vectors hold what it prints for those trees).
    if (spec.name === 'xattrs' || spec.name === 'whiteouts') continue;
    const reader = openImage(image.bytes);
    try {
      assert.ok(reader.dumpfile().equals(dump), spec.name);
    } finally {
      reader.close();
    }
  }
});

it('fsck.erofs accepts every image, and the CLI reads image files', async () => {
  const work = await mkdtemp(join(tmpdir(), 'cfskit-fsck-'));
  try {
    const images: [string, Buffer][] = [];
    for (const spec of TREES) {
      for (const erofsVersion of [1, 0, 2] as const) {
        const suffix = erofsVersion === 1 ? '' : `-v${erofsVersion}`;
        images.push([`${spec.name}${suffix}`, (await createImage(treeDir(spec.name), { propagateUsrToRoot: false, erofsVersion })).bytes]);
        if (spec.container) images.push([`${spec.name}-container${suffix}`, (await createImage(treeDir(spec.name), { erofsVersion })).bytes]);
      }
    }
    images.push(['large', imageFromDumpfile(vectorFile('large.dump')).bytes], ['large-v2', imageFromDumpfile(vectorFile('large.dump'), { erofsVersion: 2 }).bytes]);
    for (const [name, bytes] of images) {
      const path = join(work, `${name}.img`);
      await writeFile(path, bytes);
      const r = await check('fsck.erofs', ['--extract', path]).catch((e: unknown) => e);
      assert.type(r, 'string', `${name}: ${String(r)}`);
    }
    // image-objects and dump-files on a file, against cfsctl's dump-files.
    const typesImage = join(work, 'types.img');
    const objects = await cfskit(['image-objects', typesImage]);
    assert.is(objects.status, 0, objects.stderr);
    const digest = openImage(images.find(([n]) => n === 'types')?.[1] ?? Buffer.alloc(0)).objects();
    assert.is(objects.stdout, digest.map((d) => `sha512:${d}\n`).join(''));
    for (const c of VECTORS.dumpFiles) {
      const args = ['dump-files', join(work, `${c.tree}${c.version === 2 ? '-v2' : ''}.img`), ...c.paths, ...(c.backingPathOnly ? ['--backing-path-only'] : [])];
      const r = await cfskit(args);
      assert.is(r.status, 0, r.stderr);
      assert.ok(r.stdoutBytes.equals(vectorFile(c.output)), c.output);
    }
    // A damaged image is refused with its name.
    const broken = join(work, 'broken.img');
    await writeFile(broken, (images.find(([n]) => n === 'types')?.[1] ?? Buffer.alloc(0)).subarray(0, 3000));
    const bad = await cfskit(['image-objects', broken]);
    assert.is(bad.status, 1);
    assert.match(bad.stderr, `${broken}: `);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

const hex = (text: string): string => Buffer.from(text).toString('hex');

/** The source entry as the raw EROFS mount of a V2 image shows it (whole-second mtimes). */
function expectedInMount(view: EntryView, objectPath: string | undefined, digest: string | undefined, erofsVersion: 1 | 2): EntryView {
  const xattrs: Record<string, string> = {};
  for (const [name, value] of Object.entries(view.xattrs)) {
    // The file's own overlay xattrs are escaped so overlayfs ignores them.
    xattrs[name.startsWith('trusted.overlay.') ? `trusted.overlay.overlay.${name.slice(16)}` : name] = value;
  }
  if (digest && objectPath) {
    xattrs['trusted.overlay.metacopy'] = `00440002${digest}`;
    xattrs['trusted.overlay.redirect'] = hex(`/${objectPath}`);
  }
  const { content, ...rest } = view;
  return { ...rest, mtimeNsec: erofsVersion === 2 ? 0 : view.mtimeNsec, xattrs, ...(digest ? {} : content === undefined ? {} : { content }) };
}

/**
 * What a raw mount of a V1 image adds to that, as C mkcomposefs lays it
 * out: 0:0 character devices as regular files marked as whiteouts (their
 * directory marked too), the root opaque, and the whiteout stubs 00…ff in
 * the root where it has no entry of that name.
 */
function v1Layout(expected: Map<string, EntryView>): Map<string, EntryView> {
  const out = new Map(expected);
  const root = out.get('') as EntryView;
  for (const [rel, view] of expected) {
    if (view.type !== 0o020000 || view.rdev !== 0) continue;
    const sameXattrs = JSON.stringify(view.xattrs) === JSON.stringify(root.xattrs['security.selinux'] ? { 'security.selinux': root.xattrs['security.selinux'] } : {});
    const stub =
      !rel.includes('/') && /^[0-9a-f]{2}$/.test(rel) && view.mode === 0o644 && sameXattrs &&
      [view.uid, view.gid, view.mtime, view.mtimeNsec].join() === [root.uid, root.gid, root.mtime, root.mtimeNsec].join();
    if (stub) continue;
    out.set(rel, { ...view, type: 0o100000, content: '', xattrs: { ...view.xattrs, 'trusted.overlay.overlay.whiteout': '', 'user.overlay.whiteout': '' } });
    const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    const dir = out.get(parent) as EntryView;
    const marks = { 'trusted.overlay.overlay.whiteouts': '', 'user.overlay.whiteouts': '', 'trusted.overlay.overlay.opaque': hex('x'), 'user.overlay.opaque': hex('x') };
    out.set(parent, { ...dir, xattrs: { ...dir.xattrs, ...marks } });
  }
  out.set('', { ...(out.get('') as EntryView), xattrs: { ...(out.get('') as EntryView).xattrs, 'trusted.overlay.opaque': hex('y') } });
  const selinux = root.xattrs['security.selinux'];
  for (let i = 0; i < 256; i++) {
    const name = i.toString(16).padStart(2, '0');
    if (out.has(name)) continue;
    const stub: EntryView = { ...root, type: 0o020000, mode: 0o644, size: 0, rdev: 0, nlink: 1, xattrs: selinux ? { 'security.selinux': selinux } : {}, inode: name };
    out.set(name, stub);
  }
  return new Map([...out].sort(([a], [b]) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1'))));
}

for (const erofsVersion of [2, 1] as const) {
  mounting(`the kernel reads every V${erofsVersion} image as its source tree (loop mount, read-only)`, async () => {
    const work = await mkdtemp(join(tmpdir(), 'cfskit-mount-'));
    try {
      for (const spec of TREES) {
        const image = await createImage(treeDir(spec.name), { propagateUsrToRoot: false, erofsVersion });
        const path = join(work, `${spec.name}.img`);
        await writeFile(path, image.bytes);
        const reader = openImage(image.bytes);
        const inline = (_: string, size: number): boolean => size <= 64;
        const source = await snapshot(treeDir(spec.name), inline);
        const mounted = await withErofsMount(path, (dir) => snapshot(dir, inline));
        let expected = new Map<string, EntryView>();
        for (const [rel, view] of source) {
          const p = Buffer.concat([Buffer.from('/'), Buffer.from(rel, 'latin1')]);
          const objectId = view.type === 0o100000 ? reader.stat(p).objectId : undefined;
          const objectPath = objectId ? `${objectId.slice(0, 2)}/${objectId.slice(2)}` : undefined;
          expected.set(rel, expectedInMount(view, objectPath, objectId, erofsVersion));
        }
        if (erofsVersion === 1) expected = v1Layout(expected);
        assert.equal([...mounted.keys()], [...expected.keys()], `${spec.name}: names`);
        for (const [rel, view] of expected) assert.equal(mounted.get(rel), view, `${spec.name} V${erofsVersion}: /${rel}`);
        reader.close();
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
}

test.run();
