/**
 * A secure repository on a kernel with fs-verity: meta.json and every
 * object get verity from the addon, the kernel's measurement equals the
 * wasm digest, hardlinked sources are sealed in place, fsck passes, and a
 * byte flipped on disk is reported by fsck while reading it fails.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { measureVerity } from '../../host-bindings/index.js';
import { IntegrityError } from '../../common/index.js';
import { closeDigestWorkers, digestBytes } from '../../src/fsverity/digest.js';
import { fsck } from '../../src/repository/fsck.js';
import { Repository } from '../../src/repository/index.js';
import { CONTENT_TYPES } from '../../src/splitstream/index.js';
import { cfskit } from '../support/cli.js';
import { pattern } from '../support/pattern.js';
import { seededRandom, tamper, testSeed, withScratchDir } from './support.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('init enables verity on meta.json; the repository opens as secure', async () => {
  await withScratchDir('repo-init', async (dir) => {
    const r = await cfskit(['--repo', join(dir, 'repo'), 'init']);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /verity:\s+required/);
    const m = await measureVerity(join(dir, 'repo/meta.json'));
    assert.is(m.hashAlg, 'sha512');
    const repo = await Repository.open(join(dir, 'repo'));
    assert.is(repo.security, 'secure');
    await repo.close();
  });
});

test('every stored object has verity and the kernel measures its wasm digest', async () => {
  await withScratchDir('repo-objects', async (dir) => {
    const repo = await Repository.init(join(dir, 'repo'));
    try {
      const rand = seededRandom(testSeed());
      const sizes = [0, 1, 4095, 4096, 4097, 64 * 4096 + 1, 200000];
      for (let i = 0; i < 3; i++) sizes.push(Math.floor(rand() * 1_000_000));
      for (const size of sizes) {
        const data = pattern(size, size);
        const stored = await repo.objects.ensureObject(data);
        assert.is(stored.id, hex(digestBytes(data)), `size ${size}`);
        assert.is((await measureVerity(repo.objects.pathOf(stored.id))).hex, stored.id, `size ${size}`);
      }
      // From a file on the same file system: ext4 cannot reflink, so the
      // source itself is sealed with verity and linked.
      const source = join(dir, 'source');
      const content = pattern(300000, 9);
      await writeFile(source, content);
      const linked = await repo.objects.ensureObjectFromFile(source, content.length);
      assert.is(linked.method, 'hardlinked');
      assert.is((await measureVerity(source)).hex, linked.id);
      const copySource = join(dir, 'copy-source');
      await writeFile(copySource, pattern(150000, 4));
      const copied = await repo.objects.ensureObjectFromFile(copySource, 150000, { strategies: ['copy'] });
      assert.is(copied.method, 'copied');
      assert.is((await measureVerity(repo.objects.pathOf(copied.id))).hex, hex(digestBytes(pattern(150000, 4))));
      const report = await fsck(repo);
      assert.equal(report.problems, []);
      assert.is(report.objectsChecked, sizes.length + 2);
    } finally {
      await repo.close();
    }
  });
});

test('a flipped byte in an object: fsck reports it, reading fails, cat fails', async () => {
  await withScratchDir('repo-tamper', async (dir) => {
    const path = join(dir, 'repo');
    const repo = await Repository.init(path);
    const data = pattern(40000, 2);
    let objectId = '';
    try {
      objectId = (await repo.objects.ensureObject(data)).id;
      const writer = repo.streams.writer(CONTENT_TYPES.ociBlob);
      await writer.writeInline(Buffer.from('head'));
      await writer.writeExternal(Buffer.from(objectId, 'hex'), data.length);
      await repo.streams.commit(await writer.finish(), 'victim');
      assert.equal((await fsck(repo)).problems, []);
    } finally {
      await repo.close();
    }
    const objectPath = join(path, 'objects', objectId.slice(0, 2), objectId.slice(2));
    await tamper(objectPath, 5000);
    const reopened = await Repository.open(path);
    try {
      const problems = (await fsck(reopened)).problems;
      assert.equal(problems.map((p) => [p.kind, p.path]), [['object-verity-failed', `objects/${objectId.slice(0, 2)}/${objectId.slice(2)}`]]);
      assert.match(problems[0]?.detail ?? '', /EIO/);
      try {
        await reopened.streams.cat('victim', new Writable({ write: (_c, _e, cb) => cb() }));
        assert.unreachable('cat of a damaged object must fail');
      } catch (e) {
        assert.instance(e, IntegrityError);
        assert.match((e as Error).message, /fails its fs-verity check/);
      }
    } finally {
      await reopened.close();
    }
    const cli = await cfskit(['--repo', path, 'fsck']);
    assert.is(cli.status, 1);
    assert.match(cli.stdout, 'fsck: object-verity-failed: objects/');
  });
});

test.after(closeDigestWorkers);
test.run();
