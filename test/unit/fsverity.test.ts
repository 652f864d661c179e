/** The wasm core's digests against fsverity-utils vectors, serial and parallel. */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeDigestWorkers, digestBytes, digestFile } from '../../src/fsverity/digest.js';
import { resolveParams } from '../../src/fsverity/params.js';
import { planRanges } from '../../src/fsverity/plan.js';
import { hashRange } from '../../src/fsverity/range.js';
import { IntegrityError, UsageError } from '../../common/index.js';
import { pattern } from '../support/pattern.js';
import { withTempDir } from '../support/tmp.js';

interface Vector {
  hashAlg: string;
  lgBlockSize: number;
  size: number;
  digest: string;
}

const vectors = (
  JSON.parse(readFileSync(new URL('../../../test/vectors/fsverity.json', import.meta.url), 'utf8')) as { vectors: Vector[] }
).vectors;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('digestBytes matches every fsverity-utils vector', () => {
  assert.ok(vectors.length >= 30);
  for (const v of vectors) {
    const got = hex(digestBytes(pattern(v.size), { hashAlg: v.hashAlg, blockSize: 2 ** v.lgBlockSize }));
    assert.is(got, v.digest, `${v.hashAlg} 2^${v.lgBlockSize} size ${v.size}`);
  }
});

test('digestFile, serial and split over workers, matches every vector', async () => {
  await withTempDir('vec', async (dir) => {
    for (const v of vectors) {
      const path = join(dir, `${v.size}`);
      await writeFile(path, pattern(v.size));
      const opts = { hashAlg: v.hashAlg, blockSize: 2 ** v.lgBlockSize };
      const serial = await digestFile(path, { ...opts, threads: 1 });
      assert.is(serial.hex, v.digest, `serial ${v.hashAlg} 2^${v.lgBlockSize} size ${v.size}`);
      assert.is(serial.size, v.size);
      // A job of one block forces height 0 and many jobs even for small files.
      for (const jobBytes of [2 ** v.lgBlockSize, 3 * 2 ** v.lgBlockSize, 1 << 20]) {
        const parallel = await digestFile(path, { ...opts, threads: 3, parallelThreshold: 1, jobBytes });
        assert.is(parallel.hex, v.digest, `parallel job ${jobBytes} ${v.hashAlg} 2^${v.lgBlockSize} size ${v.size}`);
      }
    }
  });
});

test('range plans align jobs to the tree and cover the file', () => {
  const p = resolveParams({ hashAlg: 'sha512', blockSize: 4096 });
  const plan = planRanges(p, 1 << 30);
  assert.is(plan.height, 2);
  assert.is(plan.jobSize % (4096 * 64 * 64), 0);
  assert.is(plan.jobs * plan.jobSize >= 1 << 30, true);
  // A file of 64 blocks has no level 2: the plan must stay below it.
  assert.is(planRanges(p, 64 * 4096, 1 << 30).height, 1);
  assert.is(planRanges(p, 64 * 4096 + 1, 1 << 30).height, 2);
  assert.is(planRanges(p, 4096, 1 << 30).height, 0);
});

test('unknown algorithms and bad block sizes are usage errors', async () => {
  assert.throws(() => resolveParams({ hashAlg: 'md5' }), (e: unknown) => e instanceof UsageError && /unknown hash algorithm "md5"/.test(e.message));
  for (const blockSize of [0, 512, 1000, 4097, 131072, Number.NaN]) {
    assert.throws(() => resolveParams({ blockSize }), (e: unknown) => e instanceof UsageError && /invalid block size/.test(e.message), `${blockSize}`);
  }
  for (const threads of [0, -1, 1.5, 5000]) {
    try {
      await digestFile('/etc/hostname', { threads });
      assert.unreachable(`threads ${threads}`);
    } catch (e) {
      assert.instance(e, UsageError);
    }
  }
});

test('a range that ends early is reported as a changed file', async () => {
  await withTempDir('short', async (dir) => {
    const path = join(dir, 'short');
    await writeFile(path, pattern(10000));
    const { openSync, closeSync } = await import('node:fs');
    const fd = openSync(path, 'r');
    try {
      const params = resolveParams({});
      await hashRange({ path, fd, start: 0, end: 20000, height: 0, params, crc64: false });
      assert.unreachable('a short range must fail');
    } catch (e) {
      assert.instance(e, IntegrityError);
      assert.ok((e as Error).message.includes(path));
      assert.match((e as Error).message, /file ended at byte 10000/);
    } finally {
      closeSync(fd);
    }
  });
});

test('a file whose size differs from what it reads is refused', async () => {
  // procfs reports size 0 for files that have content.
  try {
    await digestFile('/proc/self/status', { threads: 1 });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, IntegrityError);
    assert.match((e as Error).message, /\/proc\/self\/status: read \d+ bytes but the file had 0/);
  }
});

test('the CRC-64 computed alongside equals a one-shot CRC-64, serial and joined from ranges', async () => {
  const { tarsplit } = await import('../../src/core/wasm.js');
  await withTempDir('crc', async (dir) => {
    for (const size of [0, 1, 4096, 1 << 20, (5 << 20) + 333]) {
      const data = pattern(size, 11);
      const path = join(dir, `f${size}`);
      await writeFile(path, data);
      const want = tarsplit.crc64Checksum(data);
      assert.is((await digestFile(path, { threads: 1, crc64: true })).crc64, want, `serial ${size}`);
      const parallel = await digestFile(path, { threads: 2, parallelThreshold: 1, jobBytes: 4096 * 64, crc64: true });
      assert.is(parallel.crc64, want, `ranges ${size}`);
      assert.is(parallel.hex, (await digestFile(path, { threads: 1 })).hex);
      assert.is((await digestFile(path, { threads: 1 })).crc64, undefined);
    }
  });
});

test.after(closeDigestWorkers);
test.run();
