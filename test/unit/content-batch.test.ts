/**
 * The content workers' batch (src/cstor/content-batch.ts), run in this
 * thread: each file opened beneath diff/'s descriptor, its size and CRC-64
 * checked and its digest computed in one core call; every file succeeds or
 * fails on its own, with the messages the main thread's open gives. Needs
 * the addon (openat2 beneath a descriptor); skipped without it.
 */
import { closeSync, constants, openSync, symlinkSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { reviveError } from '../../common/index.js';
import { hostAvailability } from '../../host-bindings/index.js';
import { checkContentBatch, type BatchFile, type ContentJob } from '../../src/cstor/content-batch.js';
import { tarsplit } from '../../src/core/wasm.js';
import { digestBytes } from '../../src/fsverity/index.js';
import { withTempDir } from '../support/tmp.js';

const available = hostAvailability().available;

function file(path: string, content: Buffer, claimed: Partial<BatchFile> = {}): BatchFile {
  return { input: `layer x: tar-split entry ${path}`, displayName: `./${path}`, path, size: content.length, crc64: tarsplit.crc64Checksum(content), ...claimed };
}

function job(diffFd: number, root: string, files: BatchFile[], streamed = false): ContentJob {
  return { diffFd, root, files, bytes: streamed ? 0 : files.reduce((n, f) => n + f.size, 0), hashAlg: 'sha512', streamed };
}

test('a batch: contents, digests and per-file errors in order', async () => {
  if (!available) return;
  await withTempDir('cfskit-content-batch-', async (dir) => {
    const diff = join(dir, 'diff');
    await mkdir(join(diff, 'etc'), { recursive: true });
    const a = Buffer.from('hello world\n');
    const b = Buffer.alloc(5000, 7);
    await writeFile(join(diff, 'etc/a'), a);
    await writeFile(join(diff, 'b'), b);
    await writeFile(join(diff, 'longer'), Buffer.alloc(10, 1));
    symlinkSync('/etc/passwd', join(diff, 'out'));
    const fd = openSync(diff, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      const files = [
        file('etc/a', a),
        file('missing', Buffer.alloc(3)),
        file('b', b, { crc64: 1n }),
        file('longer', Buffer.alloc(9, 1)),
        file('out', Buffer.alloc(4)),
        file('b', b),
      ];
      const result = checkContentBatch(job(fd, diff, files));
      const messages = result.outcomes.map((o) => ('error' in o ? reviveError(o.error).message : 'ok'));
      assert.is(messages[0], 'ok');
      assert.match(messages[1] ?? '', /tar-split entry missing: .*\/diff\/missing is missing from the layer/);
      assert.match(messages[2] ?? '', /CRC64 mismatch for \.\/b \(diff\/ has [0-9a-f]{16}, tar-split says 0000000000000001\)/);
      assert.match(messages[3] ?? '', /\/diff\/longer is 10 bytes, tar-split says 9/);
      assert.match(messages[4] ?? '', /\/diff\/out (is a symlink|leads outside the layer)/);
      assert.is(messages[5], 'ok');
      assert.equal(Buffer.from(result.data.subarray(0, a.length)), a);
      assert.equal(Buffer.from(result.digests.subarray(0, 64)), Buffer.from(digestBytes(a)));
      assert.equal(Buffer.from(result.digests.subarray(5 * 64, 6 * 64)), Buffer.from(digestBytes(b)));
      for (const o of result.outcomes) if ('fd' in o) closeSync(o.fd);
    } finally {
      closeSync(fd);
    }
  });
});

test('a streamed file: checked in chunks, its content not kept', async () => {
  if (!available) return;
  await withTempDir('cfskit-content-batch-', async (dir) => {
    const big = Buffer.alloc((1 << 20) * 2 + 123, 3);
    await writeFile(join(dir, 'big'), big);
    const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      const ok = checkContentBatch(job(fd, dir, [file('big', big)], true));
      const outcome = ok.outcomes[0];
      assert.ok(outcome && 'fd' in outcome);
      if (outcome && 'fd' in outcome) closeSync(outcome.fd);
      assert.is(ok.data.length, 0);
      assert.equal(Buffer.from(ok.digests), Buffer.from(digestBytes(big)));
      const wrong = checkContentBatch(job(fd, dir, [file('big', big, { size: big.length - 1 })], true)).outcomes[0];
      assert.ok(wrong && 'error' in wrong);
      if (wrong && 'error' in wrong) assert.match(reviveError(wrong.error).message, `is ${big.length} bytes, tar-split says ${big.length - 1}`);
    } finally {
      closeSync(fd);
    }
  });
});

test.run();
