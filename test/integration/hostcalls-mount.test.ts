/**
 * The addon's mount calls on their own: hostile arguments never reach the
 * kernel; the kernel's refusals come back as SystemErrors with the errno
 * name and, for fsconfig, the file system's own explanation; a loop device
 * attached with autoclear detaches once its descriptor closes.
 */
import { close as closeCb, constants, openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fsConfigString, fsOpen, loopAttach, moveMount, unmount } from '../../host-bindings/index.js';
import { nativeHost } from '../../host-bindings/native.js';
import { SystemError } from '../../common/index.js';
import { loopBindings } from '../../src/mount/mountinfo.js';
import { composefsPrereqs } from '../support/composefs.js';
import { gated } from '../support/prereq.js';
import { rejects } from '../support/rejects.js';

const closeFd = promisify(closeCb);
const nul = 'a\0b';

type RawCall = (...args: unknown[]) => unknown;

function callRaw(name: string, args: unknown[]): unknown {
  const host = nativeHost('hostile-argument tests') as unknown as Record<string, RawCall>;
  const fn = host[name];
  if (!fn) throw new Error(`the addon has no ${name}`);
  return fn(...args);
}

const hostile: [string, unknown[], typeof TypeError | typeof RangeError, RegExp][] = [
  ['loopAttach', [], TypeError, /argument 0 must be a file descriptor/],
  ['loopAttach', [-1, true, true], RangeError, /argument 0/],
  ['loopAttach', [3, 'yes', true], TypeError, /argument 1 must be a boolean/],
  ['loopAttach', [3, true], TypeError, /argument 2 must be a boolean/],
  ['fsOpen', [], TypeError, /argument 0 must be a path/],
  ['fsOpen', [nul], TypeError, /NUL/],
  ['fsConfigString', [3, 'source'], TypeError, /argument 2/],
  ['fsConfigString', [3, nul, 'x'], TypeError, /NUL/],
  ['fsConfigString', [1.5, 'a', 'b'], RangeError, /argument 0/],
  ['fsConfigFlag', [3], TypeError, /argument 1/],
  ['fsConfigCreate', ['3'], TypeError, /file descriptor/],
  ['fsMount', [3], TypeError, /argument 1 must be a boolean/],
  ['moveMount', [3, nul], TypeError, /NUL/],
  ['moveMount', [2 ** 40, '/x'], RangeError, /argument 0/],
  ['unmount', ['/x'], TypeError, /argument 1 must be a boolean/],
  ['unmount', [7, false], TypeError, /argument 0 must be a path/],
];

test('hostile arguments to the mount calls: TypeError or RangeError, nothing reaches the kernel', async () => {
  for (const [name, args, errorClass, message] of hostile) {
    const what = `${name}(${args.map((a) => JSON.stringify(a)).join(', ')})`;
    try {
      await Promise.resolve(callRaw(name, args)).catch(() => undefined);
      assert.unreachable(`${what} was accepted`);
    } catch (err) {
      if (err instanceof assert.Assertion) throw err;
      assert.instance(err, errorClass, what);
      assert.match((err as Error).message, message, what);
    }
  }
});

const it = gated(test, ...composefsPrereqs());

it('errno names survive, and fsconfig errors carry the kernel\'s explanation', async () => {
  const none = await rejects(fsOpen('no-such-fs'));
  assert.instance(none, SystemError);
  assert.is((none as SystemError).errno, 'ENODEV');
  const erofs = await fsOpen('erofs');
  try {
    const bad = await rejects(fsConfigString(erofs, 'no_such_option', 'x'));
    assert.instance(bad, SystemError);
    assert.is((bad as SystemError).errno, 'EINVAL');
    assert.match((bad as SystemError).message, /no_such_option=x: fsconfig failed: .*\(.*no_such_option.*\) \(EINVAL\)/);
  } finally {
    await closeFd(erofs);
  }
  const dir = await mkdtemp(join(tmpdir(), 'cfskit-hostcalls-mount-'));
  try {
    const notMounted = await rejects(unmount(dir));
    assert.is((notMounted as SystemError).errno, 'EINVAL');
    const badFd = await rejects(moveMount(999_999, dir));
    assert.is((badFd as SystemError).errno, 'EBADF');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('a loop device with autoclear detaches itself when its last descriptor closes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfskit-loop-'));
  try {
    const backing = join(dir, 'backing');
    await writeFile(backing, Buffer.alloc(1 << 20));
    const fd = openSync(backing, constants.O_RDONLY);
    try {
      const loop = await loopAttach(fd);
      const bound = (await loopBindings()).find((b) => b.device === loop.device);
      assert.is(bound?.backingFile, backing);
      assert.ok(bound?.autoclear);
      await closeFd(loop.fd);
      let still = true;
      for (let i = 0; i < 100 && still; i++) {
        still = (await loopBindings()).some((b) => b.backingFile === backing);
        if (still) await new Promise((r) => setTimeout(r, 20));
      }
      assert.not.ok(still, `${loop.device} is still bound`);
    } finally {
      await closeFd(fd);
    }
    // Not a regular file or block device: the kernel refuses with its errno.
    const dirFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      const err = await rejects(loopAttach(dirFd));
      assert.instance(err, SystemError);
      assert.match((err as SystemError).syscall, 'LOOP_CONFIGURE');
    } finally {
      await closeFd(dirFd);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
