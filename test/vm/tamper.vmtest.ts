/**
 * A verity file whose data changed on the disk behind the kernel's back:
 * reading the changed block fails with EIO (other blocks still read), and
 * the measurement is still the original one, since it covers what the file
 * should hold. Also checks tamper() itself on a file without verity.
 */
import { open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { enableVerity, measureVerity } from '../../host-bindings/index.js';
import { SystemError } from '../../common/index.js';
import { closeDigestWorkers, digestFile } from '../../src/fsverity/digest.js';
import { pattern } from '../support/pattern.js';
import { tamper, withScratchDir } from './support.js';

const BLOCK = 4096;

test('tamper() changes the byte on the disk: a file without verity reads it flipped', async () => {
  await withScratchDir('tamper-plain', async (dir) => {
    const path = join(dir, 'plain');
    const data = pattern(3 * BLOCK);
    await writeFile(path, data);
    const t = await tamper(path, BLOCK + 100);
    assert.is(t.before, data[BLOCK + 100]);
    const expected = Buffer.from(data);
    expected[BLOCK + 100] = t.after;
    assert.equal(await readFile(path), expected);
  });
});

test('a verity file with a flipped data byte: EIO for that block, same measurement', async () => {
  await withScratchDir('tamper-verity', async (dir) => {
    const path = join(dir, 'sealed');
    const data = pattern(3 * BLOCK + 123);
    await writeFile(path, data);
    await enableVerity(path, { hashAlg: 'sha512', blockSize: BLOCK });
    const original = await measureVerity(path);
    await tamper(path, BLOCK + 7);

    const fh = await open(path, 'r');
    try {
      // One read(2) over the whole file stops short at the bad block ...
      const all = Buffer.alloc(data.length);
      const { bytesRead } = await fh.read(all, 0, data.length, 0);
      assert.is(bytesRead, BLOCK, 'a read from 0 returns the intact block 0 only');
      assert.equal(all.subarray(0, BLOCK), data.subarray(0, BLOCK));
      // ... and a read of the bad block itself fails.
      const bad = await fh.read(Buffer.alloc(BLOCK), 0, BLOCK, BLOCK).then(() => undefined, (e: unknown) => e);
      assert.is((bad as NodeJS.ErrnoException | undefined)?.code, 'EIO', `read of block 1: ${String(bad)}`);
      const third = Buffer.alloc(BLOCK);
      await fh.read(third, 0, BLOCK, 2 * BLOCK);
      assert.equal(third, data.subarray(2 * BLOCK, 3 * BLOCK), 'block 2 is intact and still reads');
    } finally {
      await fh.close();
    }
    // Node's readFile takes that short read for the end of the file and
    // returns the intact prefix without an error: it never yields the
    // whole content, but a caller must not trust its length either.
    const whole = await readFile(path).then((b) => b, (e: unknown) => e);
    if (Buffer.isBuffer(whole)) assert.ok(whole.length < data.length, `readFile returned ${whole.length} bytes`);
    else assert.is((whole as NodeJS.ErrnoException).code, 'EIO', String(whole));
    const after = await measureVerity(path);
    assert.is(after.hex, original.hex);
    const digest = await digestFile(path, { hashAlg: 'sha512', threads: 1 }).then(() => undefined, (e: unknown) => e);
    assert.instance(digest, SystemError, String(digest));
    assert.is((digest as SystemError).errno, 'EIO');
  });
});

test.after(closeDigestWorkers);
test.run();
