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
import { openImage } from '../../src/image/reader.js';
import { cfskit, check } from '../support/cli.js';
import { TREES } from '../support/erofs-trees.js';
import { VECTORS, vectorFile } from '../support/erofs-vectors.js';
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

it('compute-id equals cfsctl compute-id for every tree, both algorithms, both modes', async () => {
  for (const spec of TREES) {
    const ids = VECTORS.trees[spec.name];
    assert.ok(ids, spec.name);
    for (const hashAlg of ['sha512', 'sha256'] as const) {
      const plain = await computeImageId(treeDir(spec.name), { hashAlg, propagateUsrToRoot: false });
      assert.is(plain.hex, ids.plain[hashAlg], `${spec.name} ${hashAlg}`);
      if (ids.container) {
        const container = await computeImageId(treeDir(spec.name), { hashAlg });
        assert.is(container.hex, ids.container[hashAlg], `${spec.name} container ${hashAlg}`);
      }
    }
  }
  // And the CLI prints the same.
  const r = await cfskit(['compute-id', '--hash-alg', 'sha256', treeDir('container')]);
  assert.is(r.stderr, '');
  assert.is(r.stdout, `${VECTORS.trees.container?.container?.sha256}\n`);
  const noUsr = await cfskit(['compute-id', treeDir('types')]);
  assert.is(noUsr.status, 1);
  assert.match(noUsr.stderr, '/usr does not exist');
});

it('create-dumpfile equals cfsctl create-dumpfile byte for byte', async () => {
  for (const spec of TREES) {
    const dump = await createDumpfile(treeDir(spec.name), { propagateUsrToRoot: false });
    assert.ok(dump.equals(vectorFile(`${spec.name}.dump`)), spec.name);
    if (spec.container) {
      const cdump = await createDumpfile(treeDir(spec.name));
      assert.ok(cdump.equals(vectorFile(`${spec.name}.container.dump`)), `${spec.name} container`);
    }
  }
  const r = await cfskit(['create-dumpfile', '--no-propagate-usr-to-root', treeDir('names')]);
  assert.ok(r.stdoutBytes.equals(vectorFile('names.dump')));
});

it('round trips: tree → dumpfile → tree keeps the ID; image → read back gives the dumpfile', async () => {
  for (const spec of TREES) {
    const dir = treeDir(spec.name);
    const image = await createImage(dir, { propagateUsrToRoot: false });
    const dump = await createDumpfile(dir, { propagateUsrToRoot: false });
    assert.is(imageFromDumpfile(dump).hex, image.hex, spec.name);
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
      images.push([spec.name, (await createImage(treeDir(spec.name), { propagateUsrToRoot: false })).bytes]);
      if (spec.container) images.push([`${spec.name}-container`, (await createImage(treeDir(spec.name))).bytes]);
    }
    images.push(['large', imageFromDumpfile(vectorFile('large.dump')).bytes]);
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
    const digest = openImage(images[1]?.[1] ?? Buffer.alloc(0)).objects();
    assert.is(objects.stdout, digest.map((d) => `sha512:${d}\n`).join(''));
    for (const c of VECTORS.dumpFiles.filter((d) => d.tree === 'types' || d.tree === 'xattrs')) {
      const args = ['dump-files', join(work, `${c.tree}.img`), ...c.paths, ...(c.backingPathOnly ? ['--backing-path-only'] : [])];
      const r = await cfskit(args);
      assert.is(r.status, 0, r.stderr);
      assert.ok(r.stdoutBytes.equals(vectorFile(c.output)), c.output);
    }
    // A damaged image is refused with its name.
    const broken = join(work, 'broken.img');
    await writeFile(broken, (images[1]?.[1] ?? Buffer.alloc(0)).subarray(0, 3000));
    const bad = await cfskit(['image-objects', broken]);
    assert.is(bad.status, 1);
    assert.match(bad.stderr, `${broken}: `);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

/** The source entry as the raw EROFS mount shows it. */
function expectedInMount(view: EntryView, objectPath: string | undefined, digest: string | undefined): EntryView {
  const xattrs: Record<string, string> = {};
  for (const [name, value] of Object.entries(view.xattrs)) {
    // The file's own overlay xattrs are escaped so overlayfs ignores them.
    xattrs[name.startsWith('trusted.overlay.') ? `trusted.overlay.overlay.${name.slice(16)}` : name] = value;
  }
  if (digest && objectPath) {
    xattrs['trusted.overlay.metacopy'] = `00440002${digest}`;
    xattrs['trusted.overlay.redirect'] = Buffer.from(`/${objectPath}`).toString('hex');
  }
  const { content, ...rest } = view;
  return { ...rest, xattrs, ...(digest ? {} : content === undefined ? {} : { content }) };
}

mounting('the kernel reads every image as its source tree (loop mount, read-only)', async () => {
  const work = await mkdtemp(join(tmpdir(), 'cfskit-mount-'));
  try {
    for (const spec of TREES) {
      const image = await createImage(treeDir(spec.name), { propagateUsrToRoot: false });
      const path = join(work, `${spec.name}.img`);
      await writeFile(path, image.bytes);
      const reader = openImage(image.bytes);
      const inline = (_: string, size: number): boolean => size <= 64;
      const source = await snapshot(treeDir(spec.name), inline);
      const mounted = await withErofsMount(path, (dir) => snapshot(dir, inline));
      assert.equal([...mounted.keys()], [...source.keys()], `${spec.name}: names`);
      for (const [rel, view] of source) {
        const p = Buffer.concat([Buffer.from('/'), Buffer.from(rel, 'latin1')]);
        const objectId = view.type === 0o100000 ? reader.stat(p).objectId : undefined;
        const objectPath = objectId ? `${objectId.slice(0, 2)}/${objectId.slice(2)}` : undefined;
        assert.equal(mounted.get(rel), expectedInMount(view, objectPath, objectId), `${spec.name}: /${rel}`);
      }
      reader.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});

test.run();
