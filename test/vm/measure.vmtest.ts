/**
 * `cfskit measure` and the addon's verity errors against a real kernel:
 * the CLI prints exactly what `fsverity measure` prints, names files without
 * verity, and enabling is refused while the file is open for writing.
 */
import { execFile } from 'node:child_process';
import { open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { enableVerity, measureVerity } from '../../host-bindings/index.js';
import { SystemError, VerityNotEnabledError } from '../../common/index.js';
import { cfskit } from '../support/cli.js';
import { pattern } from '../support/pattern.js';
import { withScratchDir } from './support.js';

const fsverity = async (args: string[]): Promise<string> => (await promisify(execFile)('fsverity', args)).stdout;

test('cfskit measure prints what fsverity measure prints', async () => {
  await withScratchDir('measure', async (dir) => {
    const files: string[] = [];
    for (const [i, hashAlg] of (['sha256', 'sha512', 'sha512', 'sha256'] as const).entries()) {
      const path = join(dir, `f${i}`);
      await writeFile(path, pattern(i * 5000 + 1, i));
      await enableVerity(path, { hashAlg, blockSize: 4096 });
      files.push(path);
    }
    const want = await fsverity(['measure', ...files]);
    const got = await cfskit(['measure', ...files]);
    assert.is(got.stderr, '');
    assert.is(got.status, 0);
    assert.is(got.stdout, want);
  });
});

test('a file without verity: named on stderr, the others still measured, exit status 1', async () => {
  await withScratchDir('no-verity', async (dir) => {
    const plain = join(dir, 'plain');
    const sealed = join(dir, 'sealed');
    await writeFile(plain, 'no verity here');
    await writeFile(sealed, 'verity here');
    await enableVerity(sealed, { hashAlg: 'sha512', blockSize: 4096 });
    const r = await cfskit(['measure', plain, sealed]);
    assert.is(r.status, 1);
    assert.is(r.stderr, `cfskit measure: ${plain}: fs-verity is not enabled on this file\n`);
    assert.is(r.stdout, await fsverity(['measure', sealed]));
    const err = await measureVerity(plain).then(() => undefined, (e: unknown) => e);
    assert.instance(err, VerityNotEnabledError);
  });
});

test('enableVerity with a writable descriptor open: SystemError ETXTBSY; after closing it, enabled', async () => {
  await withScratchDir('etxtbsy', async (dir) => {
    const path = join(dir, 'busy');
    await writeFile(path, pattern(10_000));
    const writer = await open(path, 'r+');
    let err: unknown;
    try {
      err = await enableVerity(path, { hashAlg: 'sha512', blockSize: 4096 }).then(() => undefined, (e: unknown) => e);
    } finally {
      await writer.close();
    }
    assert.instance(err, SystemError, String(err));
    assert.is((err as SystemError).errno, 'ETXTBSY');
    assert.is((err as SystemError).path, path);
    assert.match((err as SystemError).message, path);
    await enableVerity(path, { hashAlg: 'sha512', blockSize: 4096 });
    assert.is((await measureVerity(path)).hashAlg, 'sha512');
  });
});

test('enabling twice is EEXIST, and a verity file cannot be opened for writing (EPERM)', async () => {
  await withScratchDir('sealed', async (dir) => {
    const path = join(dir, 'sealed');
    await writeFile(path, 'sealed');
    await enableVerity(path, { hashAlg: 'sha256', blockSize: 4096 });
    const again = await enableVerity(path, { hashAlg: 'sha256', blockSize: 4096 }).then(() => undefined, (e: unknown) => e);
    assert.instance(again, SystemError, String(again));
    assert.is((again as SystemError).errno, 'EEXIST');
    const write = await open(path, 'r+').then(async (fh) => fh.close(), (e: unknown) => e);
    assert.is((write as NodeJS.ErrnoException | undefined)?.code, 'EPERM');
  });
});

test.run();
