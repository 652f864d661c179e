/** fsck names every kind of damage: corrupted, deleted, broken, truncated. */
import { mkdir, open, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Repository } from '../../src/repository/index.js';
import { CONTENT_TYPES } from '../../src/splitstream/index.js';
import { cfskit } from '../support/cli.js';
import { fsckProblems, objectRel } from '../support/fsck.js';
import { mkfifo } from '../support/mkfifo.js';
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

/** Flips one byte of a file. */
async function flip(path: string, at: number): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, at);
    byte[0] = (byte[0] ?? 0) ^ 0xff;
    await fh.write(byte, 0, 1, at);
  } finally {
    await fh.close();
  }
}

test('every kind of object problem, in the order of the names, whichever batch and path checks it', async () => {
  await withTempDir('fsck-kinds', async (dir) => {
    const path = join(dir, 'repo');
    const repo = await Repository.init(path, { insecure: true });
    const ids: string[] = [];
    try {
      // Enough objects for several batches; one of 2 MiB (hashed in chunks
      // in a batch) and one of 17 MiB (hashed on the digest threads).
      for (let i = 0; i < 400; i++) ids.push((await repo.objects.ensureObject(pattern(100 + i * 37, i))).id);
      ids.push((await repo.objects.ensureObject(pattern(2 << 20, 1000))).id);
      ids.push((await repo.objects.ensureObject(pattern(17 << 20, 1001))).id);
    } finally {
      await repo.close();
    }
    const expected: [string, string][] = [];
    const corrupt = [ids[3], ids[200], ids[399], ids[400], ids[401]] as string[];
    for (const id of corrupt) {
      await flip(join(path, objectRel(id)), 17);
      expected.push(['object-digest-mismatch', objectRel(id)]);
    }
    const replaced = async (id: string, make: (file: string) => Promise<void>): Promise<void> => {
      await rm(join(path, objectRel(id)));
      await make(join(path, objectRel(id)));
      expected.push(['unexpected-file-type', objectRel(id)]);
    };
    await replaced(ids[10] as string, (file) => mkfifo(file));
    await replaced(ids[150] as string, (file) => symlink(`../../${objectRel(ids[0] as string)}`, file));
    await replaced(ids[300] as string, (file) => mkdir(file));
    const stray = `objects/${(ids[20] as string).slice(0, 2)}/not-a-digest`;
    await writeFile(join(path, stray), 'x');
    expected.push(['object-invalid-name', stray]);
    expected.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
    const found = await fsckProblems(path);
    assert.equal(found.map((p) => [p.kind, p.path]), expected);
    for (const p of found.filter((q) => q.kind === 'object-digest-mismatch')) assert.match(p.detail, /^measured [0-9a-f]{128}$/);
    // The portable path (no addon) finds the same, in the same words.
    for (const env of [process.env, { ...process.env, CFSKIT_DISABLE_ADDON: '1' }]) {
      const r = await cfskit(['--repo', path, 'fsck', '--json'], { env });
      assert.is(r.status, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { problems: unknown }).problems, found);
    }
  });
});

test.run();
