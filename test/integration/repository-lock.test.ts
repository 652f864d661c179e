/**
 * Locking as composefs-rs does it: every open repository holds a shared
 * flock on its directory, so any number of readers and importers coexist,
 * and the exclusive lock garbage collection needs is refused meanwhile.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RepositoryBusyError } from '../../common/index.js';
import { Repository } from '../../src/repository/index.js';
import { withTempDir } from '../support/tmp.js';

const repositoryModule = fileURLToPath(new URL('../../src/repository/index.js', import.meta.url));

/** A child process that opens the repository, says so, and holds it until stdin closes. */
function holdOpen(path: string): Promise<{ release: () => Promise<void> }> {
  const script = `
    const { Repository } = await import(${JSON.stringify(repositoryModule)});
    const repo = await Repository.open(${JSON.stringify(path)});
    process.stdout.write('open\\n');
    process.stdin.resume();
    process.stdin.on('end', async () => { await repo.close(); process.exit(0); });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.stdout.once('data', () =>
      resolve({
        release: async () => {
          child.stdin.end();
          await exited;
        },
      }),
    );
  });
}

test('readers share the repository; the exclusive lock waits for them', async () => {
  await withTempDir('lock', async (dir) => {
    const path = join(dir, 'repo');
    await (await Repository.init(path, { insecure: true })).close();
    const holder = await holdOpen(path);
    const repo = await Repository.open(path, { write: true });
    try {
      const other = await Repository.open(path);
      await other.close();
      try {
        await repo.repositoryLock.exclusive(false);
        assert.unreachable('exclusive while another process holds the repository');
      } catch (e) {
        assert.instance(e, RepositoryBusyError);
        assert.match((e as Error).message, `${path}: the repository is in use by another process`);
      }
      // The refused upgrade must not have lost our shared lock.
      assert.ok(repo.repositoryLock.held);
      await holder.release();
      await repo.repositoryLock.exclusive(false);
      const blocked = holdOpen(path);
      const race = await Promise.race([blocked.then(() => 'opened'), new Promise((r) => setTimeout(() => r('waiting'), 500))]);
      assert.is(race, 'waiting', 'an open waits while the exclusive lock is held');
      await repo.repositoryLock.shared();
      await (await blocked).release();
    } finally {
      await repo.close();
    }
  });
});

test.run();
