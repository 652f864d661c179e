/**
 * Crash safety and concurrency of repository writes, with real processes:
 * a writer killed with SIGKILL at random points leaves a repository that
 * fsck finds clean and that the same writes then complete, with the addon
 * and on the portable write path (CFSKIT_DISABLE_ADDON=1: temporary names
 * renamed into place); two writers of the same content both succeed and
 * store it once.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fsck } from '../../src/repository/fsck.js';
import { Repository } from '../../src/repository/index.js';
import { pattern } from '../support/pattern.js';
import { withTempDir } from '../support/tmp.js';

const WRITER = fileURLToPath(new URL('../support/repo-writer.js', import.meta.url));
const COUNT = 12;

const PORTABLE = { ...process.env, CFSKIT_DISABLE_ADDON: '1' };

function runWriter(
  repo: string,
  seed: number,
  killAfterMs?: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; signal: string | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, repo, String(COUNT), String(seed)], { stdio: ['ignore', 'pipe', 'inherit'], env });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    const timer = killAfterMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout });
    });
  });
}

function expectedContent(i: number, seed: number): Buffer {
  return Buffer.concat([Buffer.from(`stream ${i} begins\n`), pattern(20000 + i * 977, seed + i), Buffer.from('middle'), pattern(70000 + i, seed * 3 + i)]);
}

/**
 * Checks every stream of `seed` that exists; returns how many there are.
 * By content id, unless `viaRefs`: a writer killed between committing a
 * stream and naming it leaves the stream without its ref until resumed.
 */
async function catAll(path: string, seed: number, viaRefs = false): Promise<number> {
  const repo = await Repository.open(path);
  try {
    let complete = 0;
    for (let i = 0; i < COUNT; i++) {
      if ((await repo.streams.has(`test-${seed}-${i}`)) === undefined) continue;
      const chunks: Buffer[] = [];
      const out = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) });
      await repo.streams.cat(viaRefs ? `refs/crash/test-${seed}-${i}` : `test-${seed}-${i}`, out);
      assert.ok(Buffer.concat(chunks).equals(expectedContent(i, seed)), `stream ${i}`);
      complete++;
    }
    return complete;
  } finally {
    await repo.close();
  }
}

/**
 * fsck finds nothing wrong, and no temporary file is in sight: with the
 * addon there are none at all (O_TMPFILE); on the portable path a killed
 * writer may leave `.tmp-*` files in objects/ itself, never under an
 * object's name.
 */
async function checkClean(path: string, portable = false): Promise<void> {
  const repo = await Repository.open(path);
  try {
    const report = await fsck(repo);
    assert.equal(report.problems, [], 'fsck after a kill');
  } finally {
    await repo.close();
  }
  const objects = join(path, 'objects');
  const leftovers = (await readdir(objects)).filter((n) => n.startsWith('.tmp-'));
  if (!portable) assert.equal(leftovers, [], 'no visible temporary objects');
  for (const dir of (await readdir(objects)).filter((n) => /^[0-9a-f]{2}$/.test(n))) {
    for (const name of await readdir(join(objects, dir))) assert.match(name, /^[0-9a-f]{126}$/, `objects/${dir}/${name} is an object name`);
  }
}

test('SIGKILL at random points: fsck stays clean and the writes then complete', async () => {
  await withTempDir('crash', async (dir) => {
    const path = join(dir, 'repo');
    await (await Repository.init(path, { insecure: true })).close();
    // How long a whole run takes here (Node's start included), measured on
    // a seed of its own: kill points spread over that span, not over a
    // fixed guess that a fast or a loaded machine misses. Every iteration
    // writes a seed of its own, so each has all its work ahead of it.
    const started = Date.now();
    assert.is((await runWriter(path, 100)).code, 0);
    const span = Date.now() - started;
    const seeds = Array.from({ length: 12 }, (_, i) => 7 + i);
    let killed = 0;
    for (const seed of seeds) {
      const r = await runWriter(path, seed, Math.floor(span * (0.3 + 0.6 * Math.random())));
      if (r.signal === 'SIGKILL') killed++;
      else assert.is(r.code, 0, `writer ${seed} failed`);
      await checkClean(path);
      await catAll(path, seed);
    }
    assert.ok(killed >= 3, `only ${killed} of 12 writers were killed mid-run (a whole run takes ${span} ms)`);
    for (const seed of seeds) {
      const finished = await runWriter(path, seed);
      assert.is(finished.code, 0);
      assert.is(finished.stdout, 'done\n');
      assert.is(await catAll(path, seed, true), COUNT);
    }
    await checkClean(path);
  });
});

test('portable write path: SIGKILL at random points leaves no partial object; the writes then complete', async () => {
  await withTempDir('crash-portable', async (dir) => {
    const path = join(dir, 'repo');
    await (await Repository.init(path, { insecure: true })).close();
    const started = Date.now();
    assert.is((await runWriter(path, 200, undefined, PORTABLE)).code, 0);
    const span = Date.now() - started;
    const seeds = Array.from({ length: 6 }, (_, i) => 207 + i);
    let killed = 0;
    for (const seed of seeds) {
      const r = await runWriter(path, seed, Math.floor(span * (0.3 + 0.6 * Math.random())), PORTABLE);
      if (r.signal === 'SIGKILL') killed++;
      else assert.is(r.code, 0, `writer ${seed} failed`);
      await checkClean(path, true);
      await catAll(path, seed);
    }
    assert.ok(killed >= 2, `only ${killed} of 6 writers were killed mid-run (a whole run takes ${span} ms)`);
    for (const seed of seeds) {
      assert.is((await runWriter(path, seed, undefined, PORTABLE)).stdout, 'done\n');
      assert.is(await catAll(path, seed, true), COUNT);
    }
    await checkClean(path, true);
  });
});

test('two writers of the same content both succeed and store it once', async () => {
  await withTempDir('concurrent', async (dir) => {
    const path = join(dir, 'repo');
    await (await Repository.init(path, { insecure: true })).close();
    const [a, b] = await Promise.all([runWriter(path, 11), runWriter(path, 11)]);
    assert.is(a.code, 0);
    assert.is(b.code, 0);
    await checkClean(path);
    assert.is(await catAll(path, 11, true), COUNT);
    const repo = await Repository.open(path);
    const report = await fsck(repo);
    await repo.close();
    // Two objects per stream plus the stream itself, all distinct content.
    assert.is(report.objectsChecked, COUNT * 3);
  });
});

test.run();
