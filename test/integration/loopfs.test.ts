/**
 * The loop file system fixture (test/support/loopfs.ts) cleans up however
 * its body ends: normally, by throwing, by leaking a descriptor, and when
 * the process exits or is killed by a signal in the middle.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isMounted, loopFsAttached, loopFsLeftovers, loopFsPrereqs, withLoopFs, withTwoLoopFs } from '../support/loopfs.js';
import { check } from '../support/cli.js';
import { gated } from '../support/prereq.js';
import { rejects } from '../support/rejects.js';

const it = gated(test, ...loopFsPrereqs('btrfs', 'xfs', 'ext4'));

it('each kind mounts as itself, and is gone afterwards', async () => {
  for (const kind of ['btrfs', 'xfs', 'ext4'] as const) {
    let seen = '';
    const value = await withLoopFs(kind, {}, async (mnt) => {
      seen = mnt;
      assert.ok(isMounted(mnt), `${kind} mounted`);
      assert.is((await check('findmnt', ['-n', '-o', 'FSTYPE', mnt])).trim(), kind);
      await writeFile(join(mnt, 'file'), 'data');
      return 42;
    });
    assert.is(value, 42);
    assert.equal(loopFsLeftovers(seen), [], kind);
  }
  assert.equal(loopFsAttached(), []);
});

it('withTwoLoopFs: two file systems with different devices, both removed', async () => {
  let mounts: string[] = [];
  await withTwoLoopFs(['ext4', 'ext4'], { sizeMiB: 16 }, async (first, second) => {
    mounts = [first, second];
    assert.is.not(statSync(first).dev, statSync(second).dev);
  });
  for (const mnt of mounts) assert.equal(loopFsLeftovers(mnt), []);
});

it('a body that throws: its error comes out, everything is removed', async () => {
  let seen = '';
  const err = await rejects(
    withLoopFs('ext4', { sizeMiB: 16 }, async (mnt) => {
      seen = mnt;
      throw new Error('body failed');
    }),
  );
  assert.is((err as Error).message, 'body failed');
  assert.equal(loopFsLeftovers(seen), []);
});

it('a body that leaks a descriptor: the call fails, the mount is lazily removed', async () => {
  let seen = '';
  let leaked = -1;
  const err = await rejects(
    withLoopFs('ext4', { sizeMiB: 16 }, async (mnt) => {
      seen = mnt;
      leaked = openSync(join(mnt, 'file'), 'w');
    }),
  );
  assert.match((err as Error).message, 'stayed busy (a descriptor left open?); lazily unmounted');
  assert.not.ok(isMounted(seen));
  // The loop device outlives the lazily unmounted file system only until its last file closes.
  closeSync(leaked);
  for (let i = 0; i < 20 && loopFsLeftovers(seen).length > 0; i++) await sleep(100);
  assert.equal(loopFsLeftovers(seen), []);
});

it('too small a size is refused before anything is made', async () => {
  const err = await rejects(withLoopFs('xfs', { sizeMiB: 100 }, () => Promise.resolve()));
  assert.match((err as Error).message, 'xfs needs at least 300 MiB');
  assert.equal(loopFsAttached(), []);
});

const loopfsModule = new URL('../support/loopfs.js', import.meta.url).href;

/** Runs `ending` inside withLoopFs in a child; returns the mountpoint and how the child ended. */
async function childEnding(ending: string, signal?: NodeJS.Signals): Promise<{ mnt: string; code: number | null; signal: string | null }> {
  const script = `
const { withLoopFs } = await import(${JSON.stringify(loopfsModule)});
await withLoopFs('ext4', { sizeMiB: 16 }, async (mnt) => {
  console.log(mnt);
  ${ending}
});`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  const mnt = chunk.toString().trim();
  assert.ok(isMounted(mnt), 'mounted while the child runs');
  const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
  if (signal) child.kill(signal);
  const [code, endedBy] = await exited;
  return { mnt, code, signal: endedBy };
}

it('a child killed by SIGTERM or SIGINT mid-body leaves nothing behind, and dies of the signal', async () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    const ended = await childEnding('await new Promise(() => setInterval(() => {}, 1000));', signal);
    assert.is(ended.signal, signal);
    assert.equal(loopFsLeftovers(ended.mnt), [], signal);
  }
});

it('a child calling process.exit mid-body leaves nothing behind', async () => {
  const ended = await childEnding('process.exit(3);');
  assert.is(ended.code, 3);
  assert.equal(loopFsLeftovers(ended.mnt), []);
});

test.run();
