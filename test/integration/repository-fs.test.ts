/**
 * ensureObjectFromFile on real loop-mounted file systems: reflinks on btrfs
 * and xfs (shared extents), hardlinks on ext4 (same inode), copies across
 * file systems, and `zerocopy` refusing to copy.
 */
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { IntegrityError, UnsupportedError } from '../../common/index.js';
import { ImportContext, Repository } from '../../src/repository/index.js';
import { check } from '../support/cli.js';
import { assertAllShared } from '../support/extents.js';
import { loopFsPrereqs, withLoopFs, withTwoLoopFs } from '../support/loopfs.js';
import { pattern } from '../support/pattern.js';
import { gated, haveTool } from '../support/prereq.js';

const SIZES = [65, 4096, 100000, 3 * (1 << 20) + 17];

async function makeSources(dir: string): Promise<string[]> {
  const paths: string[] = [];
  for (const size of SIZES) {
    const path = join(dir, `src-${size}`);
    await writeFile(path, pattern(size, size));
    paths.push(path);
  }
  return paths;
}

async function fsverityDigest(path: string): Promise<string> {
  return (await check('fsverity', ['digest', '--hash-alg=sha512', path])).split(' ')[0]?.replace('sha512:', '') ?? '';
}

for (const kind of ['btrfs', 'xfs'] as const) {
  gated(test, ...loopFsPrereqs(kind), haveTool('filefrag', ['-V']), haveTool('fsverity'))(`${kind}: objects are reflinked (shared extents)`, async () => {
    await withLoopFs(kind, {}, async (mnt) => {
      const sources = await makeSources(mnt);
      const repo = await Repository.init(join(mnt, 'repo'), { insecure: true });
      try {
        const context = new ImportContext();
        for (const [i, path] of sources.entries()) {
          const size = SIZES[i] ?? 0;
          const stored = await repo.objects.ensureObjectFromFile(path, size, { context });
          assert.is(stored.method, 'reflinked', path);
          assert.is(stored.id, await fsverityDigest(path), path);
          const object = repo.objects.pathOf(stored.id);
          assert.ok((await readFile(object)).equals(await readFile(path)));
          if (size >= 4096) await assertAllShared(object, size, `object of ${path}`);
          assert.is((await repo.objects.ensureObjectFromFile(path, size, { context })).method, 'already-present');
        }
      } finally {
        await repo.close();
      }
    });
  });
}

gated(test, ...loopFsPrereqs('ext4'), haveTool('fsverity'))('ext4: objects are hardlinks of the source, reflink is probed once', async () => {
  await withLoopFs('ext4', {}, async (mnt) => {
    const sources = await makeSources(mnt);
    const repo = await Repository.init(join(mnt, 'repo'), { insecure: true });
    try {
      const context = new ImportContext();
      for (const [i, path] of sources.entries()) {
        const stored = await repo.objects.ensureObjectFromFile(path, SIZES[i] ?? 0, { context });
        assert.is(stored.method, 'hardlinked', path);
        assert.is(stored.id, await fsverityDigest(path));
        const [src, obj] = [await stat(path), await stat(repo.objects.pathOf(stored.id))];
        assert.is(obj.ino, src.ino);
        assert.is(src.nlink, 2);
        const dev = BigInt(src.dev);
        assert.ok(context.reflinkKnownUnsupported(dev, BigInt((await stat(join(mnt, 'repo/objects'))).dev)));
      }
      const wrongSize = sources[1] ?? '';
      try {
        await repo.objects.ensureObjectFromFile(wrongSize, 4097, { context });
        assert.unreachable();
      } catch (e) {
        assert.instance(e, IntegrityError);
        assert.match((e as Error).message, `${wrongSize}: has 4096 bytes, expected 4097`);
      }
    } finally {
      await repo.close();
    }
  });
});

gated(test, ...loopFsPrereqs('ext4', 'btrfs'), haveTool('fsverity'))('across file systems objects are copied; zerocopy refuses', async () => {
  await withTwoLoopFs(['ext4', 'btrfs'], {}, async (srcFs, repoFs) => {
    const sources = await makeSources(srcFs);
    const repo = await Repository.init(join(repoFs, 'repo'), { insecure: true });
    try {
      const big = sources[3] ?? '';
      try {
        await repo.objects.ensureObjectFromFile(big, SIZES[3] ?? 0, { zerocopy: true });
        assert.unreachable();
      } catch (e) {
        assert.instance(e, UnsupportedError);
        assert.match((e as Error).message, `${big}: neither a reflink nor a hardlink`);
        assert.match((e as Error).message, /different file systems/);
      }
      const objectDirs = (await readdir(join(repoFs, 'repo/objects'))).filter((d) => /^[0-9a-f]{2}$/.test(d));
      assert.equal(objectDirs, [], 'the refused object left nothing behind');
      for (const [i, path] of sources.entries()) {
        const stored = await repo.objects.ensureObjectFromFile(path, SIZES[i] ?? 0);
        assert.is(stored.method, 'copied');
        assert.is(stored.id, await fsverityDigest(path));
        assert.ok((await readFile(repo.objects.pathOf(stored.id))).equals(await readFile(path)));
      }
    } finally {
      await repo.close();
    }
  });
});

test.run();
