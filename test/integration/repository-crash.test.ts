/**
 * Crash safety and concurrency of repository writes, with real processes:
 * a writer killed with SIGKILL at random points leaves a repository that
 * fsck finds clean and that the same writes then complete; two writers of
 * the same content both succeed and store it once.
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

/**
 * Runs the writer; with `kill`, SIGKILLs it once it has stored `afterStreams`
 * streams plus `delayMs` more, i.e. somewhere inside the next one.
 */
function runWriter(
  repo: string,
  seed: number,
  kill?: { afterStreams: number; delayMs: number },
): Promise<{ code: number | null; signal: string | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, repo, String(COUNT), String(seed)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    let timer: NodeJS.Timeout | undefined;
    const arm = (): void => {
      if (kill && !timer && (stdout.match(/^stored /gm)?.length ?? 0) >= kill.afterStreams) {
        timer = setTimeout(() => child.kill('SIGKILL'), kill.delayMs);
      }
    };
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      arm();
    });
    child.on('spawn', arm);
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

async function catAll(path: string, seed: number): Promise<number> {
  const repo = await Repository.open(path);
  try {
    let complete = 0;
    for (let i = 0; i < COUNT; i++) {
      if ((await repo.streams.has(`test-${seed}-${i}`)) === undefined) continue;
      const chunks: Buffer[] = [];
      const out = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) });
      await repo.streams.cat(`refs/crash/test-${seed}-${i}`, out);
      assert.ok(Buffer.concat(chunks).equals(expectedContent(i, seed)), `stream ${i}`);
      complete++;
    }
    return complete;
  } finally {
    await repo.close();
  }
}

async function checkClean(path: string): Promise<void> {
  const repo = await Repository.open(path);
  try {
    const report = await fsck(repo);
    assert.equal(report.problems, [], 'fsck after a kill');
  } finally {
    await repo.close();
  }
  const leftovers = (await readdir(join(path, 'objects'))).filter((n) => n.startsWith('.tmp-'));
  assert.equal(leftovers, [], 'no visible temporary objects');
}

test('SIGKILL at random points: fsck stays clean and the writes then complete', async () => {
  await withTempDir('crash', async (dir) => {
    const path = join(dir, 'repo');
    await (await Repository.init(path, { insecure: true })).close();
    const seed = 7;
    let killed = 0;
    for (let iteration = 0; iteration < 12; iteration++) {
      // Streams already stored are skipped on the next run, so count from
      // the repository's progress; the delay lands inside the next stream.
      const done = (await readdir(join(path, 'streams')).catch(() => [] as string[])).filter((n) => n.startsWith('test-')).length;
      const r = await runWriter(path, seed, { afterStreams: Math.floor(Math.random() * Math.max(1, COUNT - done - 1)), delayMs: Math.random() * 40 });
      if (r.signal === 'SIGKILL') killed++;
      await checkClean(path);
      await catAll(path, seed);
    }
    assert.ok(killed >= 3, `only ${killed} of 12 writers were killed mid-run`);
    const finished = await runWriter(path, seed);
    assert.is(finished.code, 0);
    assert.match(finished.stdout, /done\n$/);
    await checkClean(path);
    assert.is(await catAll(path, seed), COUNT);
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
    assert.is(await catAll(path, 11), COUNT);
    const repo = await Repository.open(path);
    const report = await fsck(repo);
    await repo.close();
    // Two objects per stream plus the stream itself, all distinct content.
    assert.is(report.objectsChecked, COUNT * 3);
  });
});

test.run();
