/**
 * fsck of images/: each image is parsed by the hostile-input reader and
 * every object it references must exist. Damage is named with the image's
 * path: image-invalid, image-missing-object (and the damaged object itself).
 */
import { mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeDigestWorkers } from '../../src/fsverity/digest.js';
import { createRepositoryImage } from '../../src/image/commit.js';
import { openImage } from '../../src/image/reader.js';
import { Repository } from '../../src/repository/index.js';
import { cfskit } from '../support/cli.js';
import { fsckProblems, objectRel } from '../support/fsck.js';
import { pattern } from '../support/pattern.js';
import { gated, haveTool } from '../support/prereq.js';
import { withTempDir } from '../support/tmp.js';

const it = gated(test, haveTool('getfattr'));

interface Fixture {
  path: string;
  imageId: string;
  objects: string[];
}

/** A repository with one image of a small tree (three external files). */
async function build(dir: string): Promise<Fixture> {
  const tree = join(dir, 'tree');
  await mkdir(join(tree, 'usr'), { recursive: true });
  for (const size of [100, 5000, 70000]) await writeFile(join(tree, 'usr', `f${size}`), pattern(size, size));
  await writeFile(join(tree, 'usr', 'inline'), 'small');
  const path = join(dir, 'repo');
  const repo = await Repository.init(path, { insecure: true });
  try {
    const created = await createRepositoryImage(repo, tree, { name: 'img' });
    const image = openImage(await readFile(repo.objects.pathOf(created.id)));
    const objects = image.objects();
    image.close();
    return { path, imageId: created.id, objects };
  } finally {
    await repo.close();
  }
}

it('a clean repository with an image passes, and its images are counted', async () => {
  await withTempDir('image-fsck-clean', async (dir) => {
    const f = await build(dir);
    assert.is(f.objects.length, 3);
    assert.equal(await fsckProblems(f.path), []);
    const r = await cfskit(['--repo', f.path, 'fsck', '--json']);
    assert.is(r.status, 0, r.stderr);
    assert.is((JSON.parse(r.stdout) as { images_checked: number }).images_checked, 1);
  });
});

it('an object the image uses is deleted: image-missing-object names the image and the object', async () => {
  await withTempDir('image-fsck-missing', async (dir) => {
    const f = await build(dir);
    const gone = f.objects[1] ?? '';
    await rm(join(f.path, objectRel(gone)));
    assert.equal(await fsckProblems(f.path), [{ kind: 'image-missing-object', path: `images/${f.imageId}`, detail: gone }]);
    const r = await cfskit(['--repo', f.path, 'fsck']);
    assert.is(r.status, 1);
    assert.match(r.stdout, `fsck: image-missing-object: images/${f.imageId}: ${gone}\n`);
  });
});

it('a damaged image object: its digest mismatches and the image no longer parses (image-invalid)', async () => {
  await withTempDir('image-fsck-damaged', async (dir) => {
    const f = await build(dir);
    await truncate(join(f.path, objectRel(f.imageId)), 1000);
    const found = await fsckProblems(f.path);
    assert.equal(
      found.map((p) => [p.kind, p.path]),
      [
        ['object-digest-mismatch', objectRel(f.imageId)],
        ['image-invalid', `images/${f.imageId}`],
      ],
    );
    assert.match(found[1]?.detail ?? '', `images/${f.imageId}: `);
  });
});

it('an image entry whose object is intact but not EROFS: image-invalid only', async () => {
  await withTempDir('image-fsck-garbage', async (dir) => {
    const f = await build(dir);
    const repo = await Repository.open(f.path);
    let garbage: string;
    try {
      garbage = (await repo.images.write(pattern(10000, 3), 'garbage')).id;
    } finally {
      await repo.close();
    }
    const found = await fsckProblems(f.path);
    assert.equal(found.map((p) => [p.kind, p.path]), [['image-invalid', `images/${garbage}`]]);
    // An image named by its ref is parsed through its entry, once.
    const r = await cfskit(['--repo', f.path, 'image-objects', 'refs/garbage']);
    assert.is(r.status, 1);
    assert.match(r.stderr, 'image refs/garbage: ');
  });
});

test.after(closeDigestWorkers);
test.run();
