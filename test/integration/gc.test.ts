/**
 * Repository garbage collection, case by case: composefs-rs's own GC
 * tests (streams, named refs, images, --root), cfsctl's output lines,
 * the locking (gc waits for an open repository, a dry run does not,
 * `transaction` holds it off), and what gc leaves alone: the system
 * containers-storage that lives inside a sysroot's repository directory,
 * files that are not objects, links that lead out of the repository.
 * With $CFSCTL set, cfsctl gc on an identical copy must remove the same
 * objects and print the same lines.
 */
import { spawn } from 'node:child_process';
import { cp, lstat, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gc } from '../../src/gc/index.js';
import { imageFromDumpfile } from '../../src/image/compute.js';
import { Repository } from '../../src/repository/index.js';
import { CFSKIT, cfskit, run } from '../support/cli.js';
import { addComposefsImage, importModelImage, makeLayer } from '../support/gc-model.js';
import { pattern } from '../support/pattern.js';
import { snapshot } from '../support/snapshot.js';
import { withTempDir } from '../support/tmp.js';

async function objects(repoPath: string): Promise<string[]> {
  const ids: string[] = [];
  for (const d of (await readdir(join(repoPath, 'objects'))).filter((n) => /^[0-9a-f]{2}$/.test(n))) {
    for (const name of await readdir(join(repoPath, 'objects', d))) ids.push(`${d}${name}`);
  }
  return ids.sort();
}

const exists = (path: string): Promise<boolean> => lstat(path).then(() => true, () => false);

async function withRepo<T>(body: (repo: Repository, path: string, dir: string) => Promise<T>): Promise<T> {
  return withTempDir('gc', async (dir) => {
    const path = join(dir, 'repo');
    const repo = await Repository.init(path, { insecure: true });
    try {
      return await body(repo, path, dir);
    } finally {
      await repo.close();
    }
  });
}

/** composefs-rs's fixture: obj1 loose, obj2 in a stream `test-stream`. */
async function streamFixture(repo: Repository, ref?: string): Promise<{ obj1: string; obj2: string; stream: string }> {
  const obj1 = (await repo.objects.ensureObject(pattern(32 * 1024, 0xae))).id;
  const data = pattern(64 * 1024, 0xea);
  const obj2 = (await repo.objects.ensureObject(data)).id;
  const writer = repo.streams.writer(0n);
  await writer.writeExternal(Buffer.from(obj2, 'hex'), data.length);
  const stream = await repo.streams.commit(await writer.finish(), 'test-stream', ref);
  return { obj1, obj2, stream };
}

const counts = (r: { objectsRemoved: number; imagesPruned: number; streamsPruned: number }): number[] => [r.objectsRemoved, r.imagesPruned, r.streamsPruned];

test('composefs-rs: an unnamed stream goes with its objects (3 objects, 1 stream link)', () =>
  withRepo(async (repo, path) => {
    await streamFixture(repo);
    const result = await gc(repo);
    assert.equal(counts(result), [3, 0, 1]);
    assert.ok(result.objectsBytes >= 96 * 1024);
    assert.equal(await objects(path), []);
    assert.not.ok(await exists(join(path, 'streams/test-stream')));
  }));

test('composefs-rs: --root and refs keep a stream and its objects; only the loose object goes', () =>
  withRepo(async (repo, path) => {
    const f = await streamFixture(repo);
    assert.equal(counts(await gc(repo, { roots: ['test-stream'] })), [1, 0, 0]);
    assert.equal(await objects(path), [f.obj2, f.stream].sort());
  }).then(() =>
    withRepo(async (repo, path) => {
      const f = await streamFixture(repo, 'ref-name');
      assert.equal(counts(await gc(repo)), [1, 0, 0]);
      assert.equal(await objects(path), [f.obj2, f.stream].sort());
    }),
  ));

test('composefs-rs: named references keep the streams they name, whatever the table calls them', () =>
  withRepo(async (repo, path) => {
    const inner = await streamFixture(repo);
    const writer = repo.streams.writer(0n);
    writer.addNamedRef('a-different-table-name', Buffer.from(inner.stream, 'hex'));
    await writer.writeInline(Buffer.from('outer'));
    const outer = await repo.streams.commit(await writer.finish(), 'test-stream2');
    assert.equal(counts(await gc(repo, { roots: ['test-stream2'] })), [1, 0, 0]);
    assert.equal(await objects(path), [inner.obj2, inner.stream, outer].sort());
  }));

test('composefs-rs: images go unless a ref or --root names them', async () => {
  for (const keep of ['none', 'root', 'ref'] as const) {
    await withRepo(async (repo, path) => {
      await repo.objects.ensureObject(pattern(32 * 1024, 0xae));
      const data = pattern(64 * 1024, 0xea);
      const obj2 = (await repo.objects.ensureObject(data)).id;
      const image = imageFromDumpfile(`/ 0 40755 2 0 0 0 0.0 - - -\n/data ${data.length} 100644 1 0 0 0 0.0 ${obj2.slice(0, 2)}/${obj2.slice(2)} - ${obj2}\n`);
      const stored = await repo.images.write(Buffer.from(image.bytes), keep === 'ref' ? 'ref-name' : undefined);
      const result = await gc(repo, keep === 'root' ? { roots: [stored.id] } : {});
      if (keep === 'none') {
        assert.equal(counts(result), [3, 1, 0]);
        assert.equal(await objects(path), []);
      } else {
        assert.equal(counts(result), [1, 0, 0], keep);
        assert.equal(await objects(path), [obj2, stored.id].sort(), keep);
      }
    });
  }
});

test('the CLI prints cfsctl\'s lines; --json the result; a dry run says so and changes nothing', () =>
  withRepo(async (repo, path) => {
    await streamFixture(repo);
    await repo.close();
    const before = await objects(path);
    const dry = await cfskit(['--repo', path, 'gc', '--dry-run']);
    assert.is(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /^Dry run \(no files deleted\):\nObjects: 3 removed \(\d+ bytes\)\nPruned symlinks: 0 images, 1 streams\n$/);
    assert.equal(await objects(path), before);
    const json = await cfskit(['--repo', path, 'gc', '-n', '--json']);
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
    assert.equal([parsed.dryRun, parsed.objectsRemoved, parsed.streamsPruned, parsed.imagesPruned], [true, 3, 1, 0]);
    const real = await cfskit(['--repo', path, 'gc']);
    assert.match(real.stdout, /^Objects: 3 removed \(\d+ bytes\)\nPruned symlinks: 0 images, 1 streams\n$/);
    const again = await cfskit(['--repo', path, 'gc']);
    assert.is(again.stdout, 'Objects: 0 removed (0 bytes)\n');
    const usage = await cfskit(['--repo', path, 'gc', '--root', 'no-such-stream']);
    assert.is(usage.status, 2);
    assert.match(usage.stderr, /--root no-such-stream: no stream or image of that name/);
  }));

test('temporary files of killed writers go; names that are not objects and unknown entries stay', () =>
  withRepo(async (repo, path) => {
    await writeFile(join(path, 'objects/.tmp-0123456789abcdef'), 'half an object');
    await symlink('objects/00/x', join(path, '.symlink-0123456789ab'));
    await mkdir(join(path, 'objects/ab'), { recursive: true });
    await writeFile(join(path, 'objects/ab/not-an-object-name'), 'x');
    await writeFile(join(path, 'objects/README'), 'x');
    await mkdir(join(path, 'streams'), { recursive: true });
    await writeFile(join(path, 'streams/not-a-link'), 'x');
    const result = await gc(repo);
    assert.is(result.tempFilesRemoved, 2);
    assert.not.ok(await exists(join(path, 'objects/.tmp-0123456789abcdef')));
    assert.not.ok(await exists(join(path, '.symlink-0123456789ab')));
    for (const kept of ['objects/ab/not-an-object-name', 'objects/README', 'streams/not-a-link']) assert.ok(await exists(join(path, kept)), kept);
  }));

test('the system containers-storage inside a sysroot\'s repository directory: gc, fsck and init never touch it', () =>
  withTempDir('gc-sysroot-tree', async (dir) => {
    const path = join(dir, 'composefs');
    const repo = await Repository.init(path, { insecure: true });
    const store = join(path, 'bootc/storage');
    try {
      const image = await importModelImage(repo, 'a', [makeLayer('base', 6, 1, true)], undefined);
      await addComposefsImage(repo, image, false);
      // Shaped like a store, with names that look like the repository's own.
      for (const sub of ['overlay/abc/diff', 'overlay-images', 'objects/00', 'streams/refs', 'images']) await mkdir(join(store, sub), { recursive: true });
      await writeFile(join(store, 'overlay-images/images.json'), '[]');
      await writeFile(join(store, `objects/00/${'0'.repeat(126)}`), 'not the repository\'s');
      await writeFile(join(store, 'overlay/abc/diff/file'), pattern(5000, 1));
      await symlink('../../../objects/00/gone', join(store, 'streams/refs/dangling'));
      await writeFile(join(store, 'storage.lock'), '');
      const before = await snapshot(store, () => true);
      const result = await gc(repo);
      assert.ok(result.objectsRemoved > 0, 'the untagged image went');
      await repo.close();
      const fsck = await cfskit(['--repo', path, 'fsck']);
      assert.is(fsck.status, 0, fsck.stdout + fsck.stderr);
      const init = await cfskit(['--repo', path, 'init', '--insecure']);
      assert.is(init.status, 0, init.stderr);
      assert.equal(await snapshot(store, () => true), before);
    } finally {
      await repo.close();
    }
  }));

/** A child that exits when told, after its command ran. */
function spawnCli(args: string[]): { done: Promise<{ status: number | null; stdout: string; stderr: string; at: number }> } {
  const child = spawn(process.execPath, [CFSKIT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return { done: new Promise((resolve) => child.on('close', (status) => resolve({ status, stdout, stderr, at: Date.now() }))) };
}

test('gc waits for an open repository; a dry run does not', () =>
  withRepo(async (repo, path) => {
    await streamFixture(repo);
    // `repo` holds the shared lock, as an import or a mount would.
    const dry = await cfskit(['--repo', path, 'gc', '--dry-run']);
    assert.is(dry.status, 0, dry.stderr);
    const running = spawnCli(['--repo', path, 'gc']);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await objects(path).then((o) => o.length), 3, 'nothing removed while the repository is open');
    const released = Date.now();
    await repo.close();
    const finished = await running.done;
    assert.is(finished.status, 0, finished.stderr);
    assert.ok(finished.at >= released, 'gc finished only after the lock was released');
    assert.match(finished.stdout, /Objects: 3 removed/);
  }));

test('transaction runs a command under the shared lock, passes its status, and refuses a gc of its own repository', () =>
  withRepo(async (repo, path) => {
    await streamFixture(repo);
    await repo.close();
    const status = await cfskit(['--repo', path, 'transaction', '--', 'sh', '-c', 'exit 3']);
    assert.is(status.status, 3);
    const inner = await cfskit(['--repo', path, 'transaction', '--', process.execPath, CFSKIT, '--repo', path, 'gc']);
    assert.is(inner.status, 2, inner.stderr);
    assert.match(inner.stderr, /inside "cfskit transaction" on the same repository would wait for itself forever/);
    const held = spawnCli(['--repo', path, 'transaction', '--', 'sleep', '1.5']);
    await new Promise((r) => setTimeout(r, 400));
    const started = Date.now();
    const collected = await cfskit(['--repo', path, 'gc']);
    const holder = await held.done;
    assert.is(holder.status, 0, holder.stderr);
    assert.is(collected.status, 0, collected.stderr);
    assert.ok(Date.now() - started >= 900 && holder.at <= Date.now(), 'gc waited for the transaction to end');
    assert.equal(await objects(path), []);
    const noDash = await cfskit(['--repo', path, 'transaction', 'sleep', '1']);
    assert.is(noDash.status, 2);
    assert.match(noDash.stderr, /put -- before the command/);
    const missing = await cfskit(['--repo', path, 'transaction', '--', 'no-such-command-cfskit']);
    assert.is(missing.status, 1);
    assert.match(missing.stderr, /no-such-command-cfskit: command not found/);
  }));

const cfsctl = process.env.CFSCTL;
if (cfsctl) {
  test('cfsctl gc on an identical copy removes the same objects and prints the same lines', () =>
    withRepo(async (repo, path, dir) => {
      const base = makeLayer('base', 10, 3, true);
      const kept = await importModelImage(repo, 'kept', [base, makeLayer('k', 5, 4)], 'localhost/kept:1');
      await addComposefsImage(repo, kept, false);
      const gone = await importModelImage(repo, 'gone', [base, makeLayer('g', 5, 5)], undefined);
      await addComposefsImage(repo, gone, true);
      await streamFixture(repo);
      await repo.close();
      const copy = join(dir, 'copy');
      await cp(path, copy, { recursive: true, verbatimSymlinks: true });
      const theirsDry = await run(cfsctl, ['--repo', copy, 'gc', '--dry-run']);
      const oursDry = await cfskit(['--repo', path, 'gc', '--dry-run']);
      // cfsctl's dry run counts only links broken already, so only the objects line compares.
      assert.is(oursDry.stdout.split('\n').slice(0, 2).join('\n'), theirsDry.stdout.split('\n').slice(0, 2).join('\n'));
      const theirs = await run(cfsctl, ['--repo', copy, 'gc']);
      const ours = await cfskit(['--repo', path, 'gc']);
      assert.is(theirs.status, 0, theirs.stderr);
      assert.is(ours.stdout, theirs.stdout);
      assert.equal(await objects(path), await objects(copy));
      for (const d of ['streams', 'images']) assert.equal((await readdir(join(path, d))).sort(), (await readdir(join(copy, d))).sort(), d);
    }));
} else {
  console.log('  note: set $CFSCTL to compare gc with cfsctl');
}

test.run();
