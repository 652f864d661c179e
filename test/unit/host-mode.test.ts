/**
 * The unit suite runs twice: with the addon, and with CFSKIT_DISABLE_ADDON=1
 * as on a system without it. These tests check which mode is on and what
 * each promises: without the addon a secure repository cannot be made, an
 * insecure one is written the portable way (temporary name, fsync, rename;
 * objects 0644, nothing left behind) and reads back the same, and the
 * exclusive lock garbage collection needs is refused.
 */
import { createHash } from 'node:crypto';
import { readFile, readdir, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { HostUnavailableError, UnsupportedError } from '../../common/index.js';
import { hostAvailability, statx } from '../../host-bindings/index.js';
import { imageFromDumpfile } from '../../src/image/index.js';
import { Repository, fsck } from '../../src/repository/index.js';
import { CONTENT_TYPES } from '../../src/splitstream/index.js';
import { pattern } from '../support/pattern.js';
import { rejects } from '../support/rejects.js';
import { withTempDir } from '../support/tmp.js';

const disabled = process.env.CFSKIT_DISABLE_ADDON === '1';

test('CFSKIT_DISABLE_ADDON=1 makes the addon unavailable, as where it cannot load', async () => {
  const availability = hostAvailability();
  if (disabled) {
    assert.equal(availability, { available: false, reason: 'disabled by CFSKIT_DISABLE_ADDON=1' });
    const err = await rejects(statx('/'));
    assert.instance(err, HostUnavailableError);
    assert.is((err as HostUnavailableError).code, 'host-unavailable');
  } else if (process.platform === 'linux') {
    assert.equal(availability, { available: true }, 'the addon is built on Linux, and the first unit run uses it');
  }
});

/** Every file below `root` with its bytes' sha256 (symlinks: their target), paths relative. */
async function contents(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const rel = path.slice(root.length + 1);
    if (entry.isFile()) out.set(rel, createHash('sha256').update(await readFile(path)).digest('hex'));
    else if (entry.isSymbolicLink()) out.set(rel, `-> ${await readlink(path)}`);
  }
  return out;
}

test('an insecure repository: objects, a stream with a ref, an image; fsck clean, nothing temporary left', async () => {
  await withTempDir('host-mode', async (dir) => {
    const path = join(dir, 'repo');
    const repo = await Repository.init(path, { insecure: true });
    try {
      const big = pattern(300_000, 1);
      const object = await repo.objects.ensureObject(big);
      assert.is(object.method, 'written');
      assert.is((await repo.objects.ensureObject(big)).method, 'already-present');
      const source = join(dir, 'source');
      await writeFile(source, pattern(150_000, 2));
      const copied = await repo.objects.ensureObjectFromFile(source, 150_000, disabled ? {} : { strategies: ['copy'] });
      assert.is(copied.method, 'copied');
      const writer = repo.streams.writer(CONTENT_TYPES.ociBlob);
      await writer.writeInline(Buffer.from('head'));
      await writer.writeExternal(Buffer.from(object.id, 'hex'), big.length);
      await repo.streams.commit(await writer.finish(), 'a-stream', 'named');
      const image = imageFromDumpfile(`/ 0 40755 2 0 0 0 0.0 - - -\n/big ${big.length} 100644 1 0 0 0 0.0 ${object.id.slice(0, 2)}/${object.id.slice(2)} - ${object.id}\n`);
      assert.is((await repo.images.write(image.bytes, 'img')).id, image.hex);
      const report = await fsck(repo);
      assert.ok(report.ok, JSON.stringify(report.problems));
      assert.is(report.objectsChecked, 4);
      for (const [rel] of await contents(path)) assert.not.match(rel, /\.tmp-|\.cfskit-splitstream-/, `left behind: ${rel}`);
      assert.is((await stat(repo.objects.pathOf(object.id))).mode & 0o777, 0o644);
    } finally {
      await repo.close();
    }
    const files = await contents(path);
    assert.is(files.get('streams/refs/named'), '-> ../a-stream');
    assert.is(files.get('streams/a-stream')?.startsWith('-> ../objects/'), true);
  });
});

test('without the addon: no secure repository, no exclusive lock; with it, the lock is taken', async () => {
  await withTempDir('host-mode', async (dir) => {
    if (disabled) {
      const err = await rejects(Repository.init(join(dir, 'secure')));
      assert.instance(err, UnsupportedError);
      assert.match((err as Error).message, /requires fs-verity needs cfskit's native host bindings \(disabled by CFSKIT_DISABLE_ADDON=1\); use --insecure/);
    }
    const repo = await Repository.init(join(dir, 'insecure'), { insecure: true });
    try {
      if (disabled) {
        const err = await rejects(repo.repositoryLock.exclusive(false));
        assert.instance(err, UnsupportedError);
        assert.match((err as Error).message, /exclusive lock \(flock\) needs cfskit's native host bindings/);
      } else {
        await repo.repositoryLock.exclusive(false);
        await repo.repositoryLock.shared();
      }
    } finally {
      await repo.close();
    }
  });
});

test.run();
