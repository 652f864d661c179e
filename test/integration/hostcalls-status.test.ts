/**
 * host-bindings calls about a file rather than its data: statx (against
 * fs.lstat and the block device node), flock (against util-linux flock in
 * another process), syncfs/fsync, and fs-verity on file systems without it.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, lstatSync, openSync, statSync } from 'node:fs';
import { link, open, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  enableVerity,
  flock,
  fsyncFd,
  measureVerity,
  openTmpfile,
  reopenReadOnly,
  statx,
  syncfs,
  type Statx,
} from '../../host-bindings/index.js';
import { LockBusyError, SystemError, VerityUnsupportedError } from '../../common/index.js';
import { check, run } from '../support/cli.js';
import { loopFsPrereqs, withLoopFs } from '../support/loopfs.js';
import { gated, haveTool } from '../support/prereq.js';
import { rejects } from '../support/rejects.js';
import { withTempDir } from '../support/tmp.js';

/** glibc's makedev: how st_dev packs a major and minor number. */
function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn);
}

function assertMatchesLstat(st: Statx, path: string): void {
  const want = lstatSync(path, { bigint: true });
  assert.is(st.dev, want.dev, `${path} dev`);
  assert.is(st.dev, makedev(st.devMajor, st.devMinor), `${path} dev = makedev(major, minor)`);
  assert.is(st.ino, want.ino, `${path} ino`);
  assert.is(BigInt(st.nlink), want.nlink, `${path} nlink`);
  assert.is(BigInt(st.mode), want.mode, `${path} mode`);
  assert.is(BigInt(st.uid), want.uid, `${path} uid`);
  assert.is(BigInt(st.gid), want.gid, `${path} gid`);
  assert.is(st.size, want.size, `${path} size`);
  assert.is(st.blocks, want.blocks, `${path} blocks`);
  assert.is(st.mtimeSec * 1_000_000_000n + BigInt(st.mtimeNsec), want.mtimeNs, `${path} mtime`);
}

test('statx agrees with lstat: file, symlink (not followed), hard link, fd; errors name the path', async () => {
  await withTempDir('statx', async (dir) => {
    const file = join(dir, 'file');
    await writeFile(file, 'x'.repeat(10000));
    await symlink('file', join(dir, 'sym'));
    await link(file, join(dir, 'hard'));
    for (const name of ['file', 'sym', 'hard', '.']) assertMatchesLstat(await statx(join(dir, name)), join(dir, name));
    const sym = await statx(join(dir, 'sym'));
    assert.is(sym.mode & 0o170000, 0o120000, 'a symlink, not its target');
    assert.is(sym.size, 4n);
    assert.is((await statx(file)).nlink, 2);
    const fh = await open(file, 'r');
    try {
      assertMatchesLstat(await statx(fh.fd), file);
    } finally {
      await fh.close();
    }
    const missing = await rejects(statx(join(dir, 'missing')));
    assert.instance(missing, SystemError);
    assert.is((missing as SystemError).errno, 'ENOENT');
    assert.is((missing as SystemError).path, join(dir, 'missing'));
  });
});

gated(test, haveTool('chattr', ['-V']), haveTool('findmnt', ['-V']), ...loopFsPrereqs('btrfs', 'ext4'))(
  'statx: device numbers of loop file systems, mount-root and immutable attributes',
  async () => {
    for (const kind of ['btrfs', 'ext4'] as const) {
      await withLoopFs(kind, {}, async (mnt) => {
        const root = await statx(mnt);
        assertMatchesLstat(root, mnt);
        assert.ok(root.attributes & 0x2000n, `${kind}: STATX_ATTR_MOUNT_ROOT on the mountpoint`);
        const source = (await check('findmnt', ['-n', '-o', 'SOURCE', mnt])).trim();
        if (kind === 'ext4') {
          // ext4's st_dev is the block device itself.
          assert.is(root.dev, statSync(source, { bigint: true }).rdev);
          assert.is(root.devMajor, 7, 'loop devices have major 7');
        } else {
          // btrfs reports an anonymous device (major 0), not the loop device.
          assert.is(root.devMajor, 0);
        }
        const file = join(mnt, 'file');
        await writeFile(file, 'x');
        assert.is((await statx(file)).attributes & 0x10n, 0n);
        await check('chattr', ['+i', file]);
        try {
          assert.is((await statx(file)).attributes & 0x10n, 0x10n, `${kind}: STATX_ATTR_IMMUTABLE`);
        } finally {
          await check('chattr', ['-i', file]);
        }
      });
    }
  },
);

/** util-linux flock holding a lock on `path` in another process until its stdin closes. */
async function holdLock(path: string, mode: 'shared' | 'exclusive'): Promise<ChildProcessWithoutNullStreams> {
  const child = spawn('flock', [`--${mode}`, path, 'sh', '-c', 'echo held; read line'], { stdio: 'pipe' });
  const [chunk] = (await once(child.stdout, 'data')) as [Buffer];
  assert.is(chunk.toString().trim(), 'held');
  return child;
}

async function release(child: ChildProcessWithoutNullStreams): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.stdin.end();
  await exited;
}

/** Whether another process could take `mode` on `path` right now. */
async function othersCanLock(path: string, mode: 'shared' | 'exclusive'): Promise<boolean> {
  return (await run('flock', ['--nonblock', `--${mode}`, path, 'true'])).status === 0;
}

gated(test, haveTool('flock', ['--version']))('flock: busy locks reject with LockBusyError, shared locks coexist, wait waits, unlock unlocks', async () => {
  await withTempDir('flock', async (dir) => {
    const path = join(dir, 'lock');
    await writeFile(path, '');
    const fd = openSync(path, 'r');
    const holder = await holdLock(path, 'exclusive');
    try {
      for (const mode of ['exclusive', 'shared'] as const) {
        const err = await rejects(flock(fd, mode));
        assert.instance(err, LockBusyError, mode);
        assert.instance(err, SystemError);
        assert.is((err as LockBusyError).errno, 'EWOULDBLOCK');
        assert.match((err as LockBusyError).message, `fd ${fd}`);
      }
      let settled = false;
      const waiting = flock(fd, 'exclusive', { wait: true })
        .then(() => 'granted', (err: unknown) => err)
        .finally(() => {
          settled = true;
        });
      await sleep(300);
      assert.not.ok(settled, 'settled while the other process still held the lock');
      await release(holder);
      assert.is(await waiting, 'granted');
      assert.not.ok(await othersCanLock(path, 'shared'), 'our exclusive lock keeps others out');
      await flock(fd, 'unlock');
      assert.ok(await othersCanLock(path, 'exclusive'), 'unlocked');
    } finally {
      await release(holder);
      closeSync(fd);
    }

    const sharedHolder = await holdLock(path, 'shared');
    const fd2 = openSync(path, 'r');
    try {
      await flock(fd2, 'shared');
      assert.ok(await othersCanLock(path, 'shared'));
      assert.not.ok(await othersCanLock(path, 'exclusive'));
      // The kernel converts by dropping the old lock first: a refused
      // upgrade leaves no lock at all (flock(2), "not guaranteed to be atomic").
      assert.instance(await rejects(flock(fd2, 'exclusive')), LockBusyError);
      await release(sharedHolder);
      assert.ok(await othersCanLock(path, 'exclusive'), 'the refused upgrade dropped our shared lock');
    } finally {
      await release(sharedHolder);
      closeSync(fd2);
    }
  });
});

test('syncfs and fsyncFd work on an open fd and reject EBADF on a closed one', async () => {
  await withTempDir('sync', async (dir) => {
    const fd = openSync(join(dir, 'file'), 'w');
    await fsyncFd(fd);
    await syncfs(fd);
    closeSync(fd);
    // A descriptor number well above any this process has open.
    for (const badFd of [fd, 2 ** 31 - 1]) {
      for (const call of [fsyncFd, syncfs]) {
        const err = await rejects(call(badFd));
        assert.instance(err, SystemError, `${call.name}(${badFd})`);
        assert.is((err as SystemError).errno, 'EBADF');
        assert.is((err as SystemError).path, `fd ${badFd}`);
      }
    }
  });
});

// Neither has verity here: ext4 made without `-O verity` (on any kernel), and
// xfs (no fs-verity in this kernel's xfs), which does not know the ioctls.
const verityErrno = { ext4: 'EOPNOTSUPP', xfs: 'ENOTTY' } as const;

gated(test, ...loopFsPrereqs('ext4', 'xfs'))('fs-verity where the file system lacks it: VerityUnsupportedError naming the file', async () => {
  for (const kind of ['ext4', 'xfs'] as const) {
    await withLoopFs(kind, {}, async (mnt) => {
      const file = join(mnt, 'file');
      await writeFile(file, 'content');
      const options = { hashAlg: 'sha512', blockSize: 4096 } as const;
      for (const [what, call] of [
        ['enable', () => enableVerity(file, options)],
        ['measure', () => measureVerity(file)],
      ] as const) {
        const err = await rejects(call());
        assert.instance(err, VerityUnsupportedError, `${kind} ${what}`);
        const message = (err as VerityUnsupportedError).message;
        assert.match(message, `${file}: fs-verity is not supported`);
        assert.match(message, `(${verityErrno[kind]})`);
      }
      // The repository's path: a finished tmpfile with its writer closed.
      const writable = await openTmpfile(mnt, 0o644);
      const readOnly = await reopenReadOnly(writable).finally(() => closeSync(writable));
      try {
        const err = await rejects(enableVerity(readOnly, options, 'objects/ab/cdef'));
        assert.instance(err, VerityUnsupportedError);
        assert.match((err as VerityUnsupportedError).message, 'objects/ab/cdef');
      } finally {
        closeSync(readOnly);
      }
    });
  }
});

test.run();
