/** fsck names every kind of damage: corrupted, deleted, broken, truncated. */
import { mkdir, open, readFile, rm, symlink, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Repository } from '../../src/repository/index.js';
import { CONTENT_TYPES } from '../../src/splitstream/index.js';
import { cfskit } from '../support/cli.js';
import { fsckProblems, objectRel } from '../support/fsck.js';
import { pattern } from '../support/pattern.js';
import { withTempDir } from '../support/tmp.js';

interface Fixture {
  path: string;
  streamId: string;
  objA: string;
  objB: string;
}

async function build(dir: string): Promise<Fixture> {
  const path = join(dir, 'repo');
  const repo = await Repository.init(path, { insecure: true });
  try {
    const a = pattern(50000, 1);
    const b = pattern(90000, 2);
    const objA = (await repo.objects.ensureObject(a)).id;
    const objB = (await repo.objects.ensureObject(b)).id;
    const writer = repo.streams.writer(CONTENT_TYPES.ociLayer);
    await writer.writeInline(Buffer.from('inline'));
    await writer.writeExternal(Buffer.from(objA, 'hex'), a.length);
    await writer.writeExternal(Buffer.from(objB, 'hex'), b.length);
    const streamId = await repo.streams.commit(await writer.finish(), 'layer', 'tag');
    return { path, streamId, objA, objB };
  } finally {
    await repo.close();
  }
}

test('a clean repository passes', async () => {
  await withTempDir('fsck-clean', async (dir) => {
    const f = await build(dir);
    assert.equal(await fsckProblems(f.path), []);
  });
});

test('a corrupted object: digest mismatch naming it; reading the stream fails', async () => {
  await withTempDir('fsck-corrupt', async (dir) => {
    const f = await build(dir);
    const fh = await open(join(f.path, objectRel(f.objA)), 'r+');
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, 1234);
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    await fh.write(byte, 0, 1, 1234);
    await fh.close();
    const found = await fsckProblems(f.path);
    assert.equal(found.map((p) => [p.kind, p.path]), [['object-digest-mismatch', objectRel(f.objA)]]);
    const r = await cfskit(['--repo', f.path, 'fsck']);
    assert.is(r.status, 1);
    assert.match(r.stdout, `fsck: object-digest-mismatch: ${objectRel(f.objA)}: measured `);
    assert.match(r.stdout, /^status: 1 error\(s\)$/m);
  });
});

test('a deleted object: the stream referencing it is named', async () => {
  await withTempDir('fsck-delete', async (dir) => {
    const f = await build(dir);
    await rm(join(f.path, objectRel(f.objB)));
    const found = await fsckProblems(f.path);
    assert.equal(found.map((p) => [p.kind, p.path, p.detail]), [['missing-object-ref', 'streams/layer', f.objB]]);
    const cat = await cfskit(['--repo', f.path, 'cat', 'layer']);
    assert.is(cat.status, 1);
    assert.match(cat.stderr, `${objectRel(f.objB)}: object is missing`);
  });
});

test('a broken symlink and a stray file are named', async () => {
  await withTempDir('fsck-link', async (dir) => {
    const f = await build(dir);
    await symlink(`../${objectRel('ab'.repeat(64))}`, join(f.path, 'streams/dangling'));
    await mkdir(join(f.path, 'streams/refs/x'), { recursive: true });
    await symlink('../../nothing-here', join(f.path, 'streams/refs/x/gone'));
    await (await open(join(f.path, 'streams/plain-file'), 'w')).close();
    const found = (await fsckProblems(f.path)).map((p) => [p.kind, p.path]);
    assert.equal(found, [
      ['broken-symlink', 'streams/dangling'],
      ['entry-not-symlink', 'streams/plain-file'],
      ['broken-symlink', 'streams/refs/x/gone'],
    ]);
  });
});

test('a truncated stream: its object mismatches and the stream cannot be read', async () => {
  await withTempDir('fsck-truncate', async (dir) => {
    const f = await build(dir);
    const file = join(f.path, objectRel(f.streamId));
    const size = (await readFile(file)).length;
    await truncate(file, size - 7);
    const found = await fsckProblems(f.path);
    const kinds = found.map((p) => [p.kind, p.path]);
    assert.ok(kinds.some(([k, p]) => k === 'object-digest-mismatch' && p === objectRel(f.streamId)), JSON.stringify(kinds));
    assert.ok(kinds.some(([k, p]) => (k === 'stream-open-failed' || k === 'stream-read-failed') && p === 'streams/layer'), JSON.stringify(kinds));
  });
});

test.run();
