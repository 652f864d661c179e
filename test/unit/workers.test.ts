/**
 * The worker pool settles every request: answers, typed errors, a worker
 * that dies, and close() with work queued and running; the parallel digest
 * over it: concurrent digests with different thread counts, and a pool
 * closed while a digest runs.
 */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CancelledError, IntegrityError } from '../../common/index.js';
import { closeDigestWorkers, digestBytes, digestFile } from '../../src/fsverity/index.js';
import { WorkerPool, workerExecArgv } from '../../src/workers/index.js';
import { pattern } from '../support/pattern.js';
import { rejects } from '../support/rejects.js';
import type { TestRequest } from '../support/test-worker.js';
import { withTempDir } from '../support/tmp.js';

const script = new URL('../support/test-worker.js', import.meta.url);

/** Fails the test instead of hanging it when `promise` never settles. */
async function settles<T>(promise: Promise<T>, what: string, ms = 20_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

test('answers come back, and a worker\'s error as the same class with its fields', async () => {
  const pool = new WorkerPool<TestRequest, unknown>(script, 2);
  try {
    assert.equal(await pool.run({ op: 'echo', value: { a: [1, 2] } }), { a: [1, 2] });
    const err = await rejects(pool.run({ op: 'throw' }));
    assert.instance(err, IntegrityError);
    assert.is((err as IntegrityError).code, 'integrity');
    assert.is((err as IntegrityError).input, 'objects/ab/cd');
  } finally {
    await pool.close();
  }
});

test('a result the worker cannot send fails its request with the reason; the worker goes on', async () => {
  const pool = new WorkerPool<TestRequest, unknown>(script, 1);
  try {
    const err = await settles(rejects(pool.run({ op: 'unsendable' })), 'the unsendable request');
    assert.match((err as Error).message, /worker could not send its result: .*could not be cloned/);
    assert.is(await settles(pool.run({ op: 'echo', value: 7 }), 'the next request'), 7);
  } finally {
    await pool.close();
  }
});

test('workers start under `node --input-type=module -e` (the parent\'s eval options are not passed on)', async () => {
  const pool = new URL('../../src/workers/index.js', import.meta.url).href;
  const code = `import { WorkerPool } from ${JSON.stringify(pool)};
    const p = new WorkerPool(new URL(${JSON.stringify(script.href)}), 1);
    console.log(JSON.stringify(await p.run({ op: 'echo', value: 'ok' })));
    await p.close();`;
  for (const flags of [['--input-type=module', '-e'], ['--input-type', 'module', '--eval']]) {
    const out = execFileSync(process.execPath, [...flags, code], { encoding: 'utf8', timeout: 20_000 });
    assert.is(out.trim(), '"ok"', flags.join(' '));
  }
  assert.equal(workerExecArgv(['--max-old-space-size=64', '--input-type=module', '-e', 'x', '--no-warnings']), ['--max-old-space-size=64', '--no-warnings']);
});

test('close() rejects running and queued requests with CancelledError, and later ones', async () => {
  const pool = new WorkerPool<TestRequest, unknown>(script, 1);
  const running = pool.run({ op: 'sleep', ms: 60_000 });
  const queued = [pool.run({ op: 'echo', value: 1 }), pool.run({ op: 'echo', value: 2 })];
  const outcomes = Promise.allSettled([running, ...queued]);
  await settles(pool.close(), 'close()');
  for (const r of await settles(outcomes, 'the requests')) {
    assert.is(r.status, 'rejected');
    assert.instance((r as PromiseRejectedResult).reason, CancelledError);
  }
  assert.instance(await rejects(pool.run({ op: 'echo', value: 3 })), CancelledError);
});

test('a worker that dies fails its own request; the pool goes on with a new one', async () => {
  const pool = new WorkerPool<TestRequest, unknown>(script, 1);
  try {
    const dead = pool.run({ op: 'exit' });
    const after = pool.run({ op: 'echo', value: 'still here' });
    const err = await settles(rejects(dead), 'the request of the dead worker');
    assert.instance(err, CancelledError);
    assert.match((err as Error).message, 'exited with code 3');
    assert.is(await settles(after, 'the next request'), 'still here');
  } finally {
    await pool.close();
  }
});

test('grow() lets more requests run at once; transferred buffers move', async () => {
  const pool = new WorkerPool<TestRequest, unknown>(script, 1);
  try {
    pool.grow(2);
    assert.is(pool.size, 2);
    const threads = await Promise.all([pool.run({ op: 'sleep', ms: 300 }), pool.run({ op: 'sleep', ms: 300 })]);
    assert.is(new Set(threads).size, 2, 'two workers ran them');
    const data = new Uint8Array(1000);
    assert.is(await pool.run({ op: 'bytes', data }, [data.buffer]), 1000);
    assert.is(data.byteLength, 0, 'moved, not copied');
  } finally {
    await pool.close();
  }
});

const parallel = { parallelThreshold: 1 << 20, jobBytes: 256 << 10 };

test('concurrent digests with thread counts 2, 3 and 2 all settle, each with the serial digest', async () => {
  await withTempDir('pool', async (dir) => {
    const file = join(dir, 'data');
    const content = pattern(3 << 20);
    await writeFile(file, content);
    const want = Buffer.from(digestBytes(content)).toString('hex');
    try {
      const digests = await settles(Promise.all([2, 3, 2].map((threads) => digestFile(file, { ...parallel, threads }))), 'the digests');
      for (const d of digests) assert.is(d.hex, want);
    } finally {
      await closeDigestWorkers();
    }
  });
});

test('closing the digest workers mid-digest rejects it with CancelledError naming the file; the next digest works', async () => {
  await withTempDir('pool', async (dir) => {
    const file = join(dir, 'data');
    const content = pattern(4 << 20);
    await writeFile(file, content);
    try {
      const digest = digestFile(file, { ...parallel, threads: 2 });
      const closed = closeDigestWorkers();
      const err = await settles(rejects(digest), 'the digest');
      await settles(closed, 'closeDigestWorkers()');
      assert.instance(err, CancelledError);
      assert.is((err as CancelledError).code, 'cancelled');
      assert.match((err as Error).message, file);
      const again = await settles(digestFile(file, { ...parallel, threads: 2 }), 'a later digest');
      assert.is(again.hex, Buffer.from(digestBytes(content)).toString('hex'));
    } finally {
      await closeDigestWorkers();
    }
  });
});

test.run();
