/**
 * Composefs mounts with verity=require, on a kernel with fs-verity: a
 * secure repository's image mounts and reads back exactly; an object
 * changed on the disk behind the kernel's back fails to read (EIO) while
 * everything else still reads; an object without fs-verity is refused; an
 * image without fs-verity is not even handed to the kernel.
 */
import { copyFile, mkdir, open, readFile, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeDigestWorkers } from '../../src/fsverity/digest.js';
import { createRepositoryImage } from '../../src/image/commit.js';
import { openImage } from '../../src/image/reader.js';
import { readMountinfo } from '../../src/mount/mountinfo.js';
import { Repository } from '../../src/repository/index.js';
import { cfskit } from '../support/cli.js';
import { waitNoLeftovers, withComposefsMount } from '../support/composefs.js';
import { pattern } from '../support/pattern.js';
import { tamper, withScratchDir } from './support.js';

const BLOCK = 4096;
const FILES: [string, number][] = [
  ['usr/empty', 0],
  ['usr/inline', 60],
  ['usr/just-external', 65],
  ['usr/one-block', BLOCK],
  ['usr/bin/tool', 3 * BLOCK + 100],
  ['usr/lib/big', 300_000],
];

async function makeTree(dir: string): Promise<void> {
  for (const [rel, size] of FILES) {
    await mkdir(join(dir, rel, '..'), { recursive: true });
    await writeFile(join(dir, rel), pattern(size, size + 1));
  }
  await symlink('lib/big', join(dir, 'usr/link'));
}

/** A secure repository with the image of a fresh tree, both on the verity ext4. */
async function withImage(name: string, body: (repo: Repository, imageId: string, tree: string) => Promise<void>): Promise<void> {
  await withScratchDir(name, async (dir) => {
    const tree = join(dir, 'tree');
    await makeTree(tree);
    const repo = await Repository.init(join(dir, 'repo'));
    try {
      assert.is(repo.security, 'secure');
      const created = await createRepositoryImage(repo, tree, { name: 'img' });
      await body(repo, created.id, tree);
    } finally {
      await repo.close();
    }
    assert.equal(await waitNoLeftovers(join(dir, 'repo')), []);
  });
}

/** The path of the object that backs `rel` in the image. */
async function objectOf(repo: Repository, imageId: string, rel: string): Promise<string> {
  const image = openImage(await readFile(repo.objects.pathOf(imageId)));
  try {
    const id = image.stat(`/${rel}`).objectId;
    if (!id) throw new Error(`${rel} is inline`);
    return repo.objects.pathOf(id);
  } finally {
    image.close();
  }
}

test('a secure repository\'s image mounts with verity=require and reads back exactly', async () => {
  await withImage('cfs-read', async (repo, imageId, tree) => {
    await withComposefsMount(repo, 'refs/img', async (mnt, mount) => {
      assert.ok(mount.verity);
      const info = (await readMountinfo()).find((m) => m.mountpoint === mnt);
      assert.match(info?.superOptions ?? '', 'verity=require');
      for (const [rel] of FILES) assert.ok((await readFile(join(mnt, rel))).equals(await readFile(join(tree, rel))), rel);
      assert.ok((await readFile(join(mnt, 'usr/link'))).equals(await readFile(join(tree, 'usr/lib/big'))));
    });
    // The CLI, by digest: it says verity is required.
    const mnt = join(tree, '..', 'mnt');
    await mkdir(mnt);
    const r = await cfskit(['--repo', repo.path, 'mount', '--json', imageId, mnt]);
    assert.is(r.status, 0, r.stderr);
    assert.is((JSON.parse(r.stdout) as { verity: boolean }).verity, true);
    assert.ok((await readFile(join(mnt, 'usr/bin/tool'))).equals(await readFile(join(tree, 'usr/bin/tool'))));
    const u = await cfskit(['unmount', mnt]);
    assert.is(u.status, 0, u.stderr);
  });
});

test('an object changed on the disk: that file fails with EIO through the mount, the others read', async () => {
  await withImage('cfs-tamper', async (repo, imageId, tree) => {
    const object = await objectOf(repo, imageId, 'usr/bin/tool');
    await tamper(object, BLOCK + 10);
    await withComposefsMount(repo, 'refs/img', async (mnt) => {
      const fh = await open(join(mnt, 'usr/bin/tool'), 'r');
      try {
        const first = Buffer.alloc(BLOCK);
        await fh.read(first, 0, BLOCK, 0);
        assert.ok(first.equals((await readFile(join(tree, 'usr/bin/tool'))).subarray(0, BLOCK)), 'block 0 is intact');
        const bad = await fh.read(Buffer.alloc(BLOCK), 0, BLOCK, BLOCK).then(() => undefined, (e: unknown) => e);
        assert.is((bad as NodeJS.ErrnoException | undefined)?.code, 'EIO', `block 1: ${String(bad)}`);
      } finally {
        await fh.close();
      }
      for (const [rel] of FILES.filter(([r]) => r !== 'usr/bin/tool')) {
        assert.ok((await readFile(join(mnt, rel))).equals(await readFile(join(tree, rel))), rel);
      }
    });
  });
});

test('an object replaced by a copy without fs-verity is refused; an image without it is never mounted', async () => {
  await withImage('cfs-noverity', async (repo, imageId, tree) => {
    const object = await objectOf(repo, imageId, 'usr/lib/big');
    // Same bytes, no verity: the digest the image records cannot be checked.
    await copyFile(object, `${object}.plain`);
    await rename(`${object}.plain`, object);
    await withComposefsMount(repo, 'refs/img', async (mnt) => {
      const big = await readFile(join(mnt, 'usr/lib/big')).then(() => undefined, (e: unknown) => e);
      assert.is((big as NodeJS.ErrnoException | undefined)?.code, 'EIO', `usr/lib/big: ${String(big)}`);
      assert.ok((await readFile(join(mnt, 'usr/bin/tool'))).equals(await readFile(join(tree, 'usr/bin/tool'))));
    });
    // The image itself without verity: refused before any loop device exists.
    const image = repo.objects.pathOf(imageId);
    await copyFile(image, `${image}.plain`);
    await rename(`${image}.plain`, image);
    for (const name of [imageId, 'refs/img']) {
      const r = await cfskit(['--repo', repo.path, 'mount', name, tree]);
      assert.is(r.status, 1, name);
      assert.match(r.stderr, 'has no fs-verity, but the repository requires it');
    }
  });
});

test.after(closeDigestWorkers);
test.run();
