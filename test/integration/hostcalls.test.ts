/**
 * The data-moving and naming calls of host-bindings on real file systems:
 * FICLONE (shared extents proven with filefrag), copy_file_range within and
 * across file systems, O_TMPFILE + linkat, hard links, no-replace renames.
 */
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, readdirSync, readFileSync, readSync, writeSync } from 'node:fs';
import { mkdir, open, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileRange, ficlone, linkFile, linkTmpfile, openTmpfile, renameNoReplace, reopenReadOnly, statx, writeObject } from '../../host-bindings/index.js';
import { SystemError } from '../../common/index.js';
import { loopFsPrereqs, withLoopFs, withTwoLoopFs } from '../support/loopfs.js';
import { assertAllShared, extentsOf } from '../support/extents.js';
import { pattern } from '../support/pattern.js';
import { gated, haveTool } from '../support/prereq.js';
import { rejects } from '../support/rejects.js';
import { withTempDir } from '../support/tmp.js';

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

for (const kind of ['btrfs', 'xfs'] as const) {
  gated(test, ...loopFsPrereqs(kind), haveTool('filefrag', ['-V']))(`${kind}: ficlone shares extents, also into an O_TMPFILE linked into place`, async () => {
    await withLoopFs(kind, {}, async (mnt) => {
      // Not block-aligned: the clone must carry the partial last block.
      const content = pattern(8 * 2 ** 20 + 1234, 5);
      const srcPath = join(mnt, 'src');
      await writeFile(srcPath, content);
      const src = await open(srcPath, 'r');
      const cloneFile = await open(join(mnt, 'clone'), 'w');
      try {
        // Flushed but never cloned yet: nothing is shared, so "shared" below is the clone's doing.
        await src.sync();
        for (const e of await extentsOf(srcPath)) assert.not.ok(e.flags.includes('shared'), 'source shared before any clone');
        await ficlone(src.fd, cloneFile.fd);
        assert.is(sha256(await readFile(join(mnt, 'clone'))), sha256(content));
        await assertAllShared(join(mnt, 'clone'), content.length, 'clone');
        await assertAllShared(srcPath, content.length, 'source');

        // The repository's path: clone into a nameless file, drop the writer, name it.
        const tmp = await openTmpfile(mnt, 0o644);
        let ro = -1;
        try {
          await ficlone(src.fd, tmp);
          ro = await reopenReadOnly(tmp);
        } finally {
          closeSync(tmp);
        }
        try {
          await linkTmpfile(ro, join(mnt, 'object'));
        } finally {
          closeSync(ro);
        }
        assert.is(sha256(await readFile(join(mnt, 'object'))), sha256(content));
        await assertAllShared(join(mnt, 'object'), content.length, 'linked tmpfile');
      } finally {
        await src.close();
        await cloneFile.close();
      }
    });
  });
}

gated(test, ...loopFsPrereqs('ext4'))('ext4: ficlone is EOPNOTSUPP; copy_file_range copies within it in several calls', async () => {
  await withLoopFs('ext4', { sizeMiB: 256 }, async (mnt) => {
    const content = pattern(40 * 2 ** 20 + 5, 3);
    await writeFile(join(mnt, 'src'), content);
    const src = await open(join(mnt, 'src'), 'r');
    const dst = await open(join(mnt, 'dst'), 'w+');
    try {
      const err = await rejects(ficlone(src.fd, dst.fd));
      assert.instance(err, SystemError);
      assert.is((err as SystemError).errno, 'EOPNOTSUPP');
      assert.is((err as SystemError).syscall, 'ioctl(FICLONE)');
      assert.is(fstatSync(dst.fd).size, 0, 'a refused clone leaves dst empty');
      // 16 MiB per copy_file_range call: three calls, the last one partial.
      assert.is(await copyFileRange(src.fd, dst.fd, content.length), content.length);
      assert.is(sha256(await readFile(join(mnt, 'dst'))), sha256(content));
    } finally {
      await src.close();
      await dst.close();
    }
  });
});

gated(test, ...loopFsPrereqs('btrfs', 'xfs'))('two file systems: ficlone and linkFile are EXDEV, copyFileRange copies exact bytes', async () => {
  await withTwoLoopFs(['btrfs', 'xfs'], {}, async (first, second) => {
    // 9 MiB + a bit: the buffered fallback (1 MiB at a time) goes round ten times.
    const content = pattern(9 * 2 ** 20 + 12345, 11);
    const srcPath = join(first, 'src');
    await writeFile(srcPath, content);
    const src = await open(srcPath, 'r');
    const dst = await open(join(second, 'dst'), 'w+');
    try {
      const cloneErr = await rejects(ficlone(src.fd, dst.fd));
      assert.instance(cloneErr, SystemError);
      assert.is((cloneErr as SystemError).errno, 'EXDEV');
      const linkErr = await rejects(linkFile(srcPath, join(second, 'link')));
      assert.instance(linkErr, SystemError);
      assert.is((linkErr as SystemError).errno, 'EXDEV');
      assert.match((linkErr as SystemError).message, srcPath);

      assert.is(await copyFileRange(src.fd, dst.fd, content.length), content.length);
      assert.is(sha256(await readFile(join(second, 'dst'))), sha256(content));
      const position = Buffer.alloc(4);
      readSync(src.fd, position, 0, 4, null);
      assert.equal(position, content.subarray(0, 4), "the source's file position did not move");

      // A source shorter than asked for: the count says how much there was.
      const shortDst = await open(join(second, 'short'), 'w');
      try {
        assert.is(await copyFileRange(src.fd, shortDst.fd, content.length + 3 * 2 ** 20), content.length);
      } finally {
        await shortDst.close();
      }
      assert.is(sha256(await readFile(join(second, 'short'))), sha256(content));
      // A prefix, and nothing at all.
      const prefixDst = await open(join(second, 'prefix'), 'w');
      try {
        assert.is(await copyFileRange(src.fd, prefixDst.fd, 2 ** 20 + 7), 2 ** 20 + 7);
        assert.is(await copyFileRange(src.fd, prefixDst.fd, 0), 0);
      } finally {
        await prefixDst.close();
      }
      assert.equal(await readFile(join(second, 'prefix')), content.subarray(0, 2 ** 20 + 7));
    } finally {
      await src.close();
      await dst.close();
    }
  });
});

test('O_TMPFILE: invisible until linked, complete under its name, EEXIST on a second link', async () => {
  await withTempDir('tmpfile', async (dir) => {
    const content = pattern(3 * 2 ** 20 + 17);
    const writable = await openTmpfile(dir, 0o640);
    let readOnly = -1;
    try {
      for (let at = 0; at < content.length; at += 2 ** 20) writeSync(writable, content, at, Math.min(2 ** 20, content.length - at), at);
      assert.equal(await readdir(dir), [], 'a written tmpfile has no name');
      readOnly = await reopenReadOnly(writable);
    } finally {
      closeSync(writable);
    }
    try {
      assert.throws(() => writeSync(readOnly, 'x'), /EBADF/, 'the reopened fd is read-only');
      assert.is((await statx(readOnly)).nlink, 0);
      assert.equal(await readdir(dir), []);
      const objectPath = join(dir, 'object');
      await linkTmpfile(readOnly, objectPath);
      assert.equal(await readdir(dir), ['object']);
      assert.is(sha256(await readFile(objectPath)), sha256(content));
      const st = await statx(objectPath);
      assert.is(st.nlink, 1);
      assert.is(st.mode & 0o777, 0o640 & ~process.umask());

      const err = await rejects(linkTmpfile(readOnly, objectPath));
      assert.instance(err, SystemError);
      assert.is((err as SystemError).errno, 'EEXIST');
      assert.match((err as SystemError).message, objectPath);
      assert.is(sha256(await readFile(objectPath)), sha256(content));
    } finally {
      closeSync(readOnly);
    }

    // Closed without a name, a tmpfile leaves nothing behind.
    const abandoned = await openTmpfile(dir, 0o644);
    writeSync(abandoned, 'never published');
    closeSync(abandoned);
    assert.equal(await readdir(dir), ['object']);
  });
});

test('writeObject: contents in memory linked under their names, complete and unreplaced; a batch of many in one call', async () => {
  await withTempDir('write-objects', async (dir) => {
    const contents = Array.from({ length: 40 }, (_, i) => pattern(100 + i * 997, i));
    const names = contents.map((c) => {
      const hex = sha256(c);
      return `${hex.slice(0, 2)}/${hex.slice(2)}`;
    });
    // All in one turn: they travel in two batches (32 at most per call).
    const results = await Promise.all(contents.map((c, i) => writeObject(c, dir, { name: names[i] ?? '', verityAlgorithm: 0, verityBlockSize: 4096 })));
    assert.equal([...new Set(results.map((r) => `${r.status}:${String(r.strategy)}`))], ['stored:null']);
    for (const [i, c] of contents.entries()) {
      const path = join(dir, names[i] ?? '');
      assert.ok((await readFile(path)).equals(c), names[i]);
      assert.is((await stat(path)).mode & 0o777, 0o644);
    }
    const again = await writeObject(contents[0] ?? Buffer.alloc(0), dir, { name: names[0] ?? '', verityAlgorithm: 0, verityBlockSize: 4096 });
    assert.is(again.status, 'exists');
    // Nothing but the objects: no temporary file left behind.
    const subdirs = await readdir(dir);
    assert.equal((await Promise.all(subdirs.map((d) => readdir(join(dir, d))))).flat().length, contents.length);
    // fs-verity asked for where the file system has none: the call fails, naming it.
    const refused = await rejects(writeObject(Buffer.from('x'.repeat(100)), dir, { name: '', verityAlgorithm: 2, verityBlockSize: 4096 }));
    assert.instance(refused, SystemError);
    assert.match(String(refused), /FS_IOC_ENABLE_VERITY/);
  });
});

test('openTmpfile reports the file system or directory that cannot have one', async () => {
  await withTempDir('tmpfile-errors', async (dir) => {
    await writeFile(join(dir, 'file'), '');
    const cases: [string, string][] = [
      ['/proc', 'EOPNOTSUPP'], // procfs has no O_TMPFILE
      [join(dir, 'file'), 'ENOTDIR'],
      [join(dir, 'missing'), 'ENOENT'],
    ];
    for (const [path, errno] of cases) {
      const err = await rejects(openTmpfile(path, 0o600));
      assert.instance(err, SystemError, path);
      assert.is((err as SystemError).errno, errno, path);
      assert.is((err as SystemError).path, path);
    }
  });
});

test('renameNoReplace renames, and refuses to replace (EEXIST, both files untouched)', async () => {
  await withTempDir('rename', async (dir) => {
    // A name that is not UTF-8 travels as bytes.
    const from = Buffer.concat([Buffer.from(`${dir}/from-`), Buffer.from([0xff, 0xfe])]);
    await writeFile(from, 'moved');
    await renameNoReplace(from, join(dir, 'to'));
    assert.equal(readdirSync(dir), ['to']);
    assert.is(readFileSync(join(dir, 'to'), 'utf8'), 'moved');

    await writeFile(join(dir, 'other'), 'other');
    const err = await rejects(renameNoReplace(join(dir, 'other'), join(dir, 'to')));
    assert.instance(err, SystemError);
    assert.is((err as SystemError).errno, 'EEXIST');
    assert.is(readFileSync(join(dir, 'to'), 'utf8'), 'moved');
    assert.is(readFileSync(join(dir, 'other'), 'utf8'), 'other');
  });
});

test('linkFile hard-links files and symlinks (not their targets); EEXIST is typed', async () => {
  await withTempDir('link', async (dir) => {
    await mkdir(join(dir, 'd'));
    await writeFile(join(dir, 'd/file'), 'data');
    await symlink('file', join(dir, 'd/sym'));
    await linkFile(join(dir, 'd/file'), join(dir, 'hard'));
    const st = await statx(join(dir, 'hard'));
    assert.is(st.nlink, 2);
    assert.is(st.ino, (await statx(join(dir, 'd/file'))).ino);
    await linkFile(join(dir, 'd/sym'), join(dir, 'symlink-link'));
    // Linked itself: the relative target now points at dir/file, which does not exist.
    assert.is(await readlink(join(dir, 'symlink-link')), 'file');
    assert.is((await statx(join(dir, 'd/sym'))).nlink, 2);
    const err = await rejects(linkFile(join(dir, 'd/file'), join(dir, 'hard')));
    assert.instance(err, SystemError);
    assert.is((err as SystemError).errno, 'EEXIST');
  });
});

test.run();
