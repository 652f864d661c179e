/**
 * fs-verity through a real kernel (the VM's): for every Merkle-tree edge,
 * the addon's enableVerity + measureVerity, cfskit's wasm digestFile,
 * `fsverity digest` and `fsverity measure` all give the same digest; and
 * which Merkle block sizes the kernel takes.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { enableVerity, measureVerity } from '../../host-bindings/index.js';
import { SystemError } from '../../common/index.js';
import { closeDigestWorkers, digestFile } from '../../src/fsverity/digest.js';
import type { HashAlg } from '../../common/index.js';
import { pattern } from '../support/pattern.js';
import { seededRandom, testSeed, withScratchDir } from './support.js';

const tool = async (args: string[]): Promise<string[]> => (await promisify(execFile)('fsverity', args)).stdout.trim().split('\n');

const BLOCK = 4096;

/** Sizes around one block and around the first two levels of either tree, a few random ones, one large. */
function sizes(rand: () => number): number[] {
  const edges = [0, 1, BLOCK - 1, BLOCK, BLOCK + 1];
  // 64 (SHA-512) and 128 (SHA-256) digests fill one 4 KiB tree block.
  for (const fanOut of [64, 128]) edges.push(fanOut * BLOCK - 1, fanOut * BLOCK, fanOut * BLOCK + 1);
  for (let i = 0; i < 3; i++) edges.push(Math.floor(rand() * 300 * BLOCK));
  edges.push(20 * (1 << 20) + 12_345);
  return edges;
}

/** File contents by size, made once for both algorithms: 20 MiB of pattern takes seconds under TCG. */
const contents = new Map<number, Buffer>();
function contentOf(size: number): Buffer {
  const made = contents.get(size) ?? pattern(size, size);
  contents.set(size, made);
  return made;
}

for (const hashAlg of ['sha256', 'sha512'] as const satisfies readonly HashAlg[]) {
  test(`${hashAlg}: kernel measurement = wasm digest = fsverity digest = fsverity measure`, async () => {
    const seed = testSeed();
    await withScratchDir(hashAlg, async (dir) => {
      const files: string[] = [];
      for (const size of sizes(seededRandom(seed))) {
        const path = join(dir, `${size}`);
        await writeFile(path, contentOf(size));
        await enableVerity(path, { hashAlg, blockSize: BLOCK });
        files.push(path);
      }
      const digests = await tool(['digest', `--hash-alg=${hashAlg}`, `--block-size=${BLOCK}`, ...files]);
      const measures = await tool(['measure', ...files]);
      for (const [i, path] of files.entries()) {
        const kernel = await measureVerity(path);
        const wasm = await digestFile(path, { hashAlg, blockSize: BLOCK });
        const want = `${hashAlg}:${kernel.hex} ${path}`;
        const why = `${path} (CFSKIT_TEST_SEED=${seed})`;
        assert.is(kernel.hashAlg, hashAlg, why);
        assert.is(`${hashAlg}:${wasm.hex} ${path}`, want, `wasm, ${why}`);
        assert.is(digests[i], want, `fsverity digest, ${why}`);
        assert.is(measures[i], want, `fsverity measure, ${why}`);
      }
    });
  });
}

test('a file made verity by fsverity enable measures the same through the addon', async () => {
  await withScratchDir('tool-enable', async (dir) => {
    const path = join(dir, 'f');
    await writeFile(path, pattern(3 * BLOCK + 17));
    await promisify(execFile)('fsverity', ['enable', '--hash-alg=sha512', path]);
    const kernel = await measureVerity(path);
    const wasm = await digestFile(path, { hashAlg: 'sha512' });
    assert.is(kernel.hex, wasm.hex);
    assert.equal(await readFile(path), pattern(3 * BLOCK + 17));
  });
});

/** Before Linux 6.3 the Merkle block size had to be the page size. */
const pageSizeOnly = (kernelRelease: string): boolean => {
  const [major = 0, minor = 0] = kernelRelease.split('.').map((n) => Number.parseInt(n, 10));
  return major < 6 || (major === 6 && minor < 3);
};

test('Merkle block sizes: 4096 works; a size the kernel refuses fails with EINVAL', async () => {
  const accepted: number[] = [];
  await withScratchDir('block-sizes', async (dir) => {
    for (const blockSize of [1024, 2048, 4096, 8192, 16384, 65536]) {
      const path = join(dir, `${blockSize}`);
      await writeFile(path, pattern(5 * 65536 + 3));
      try {
        await enableVerity(path, { hashAlg: 'sha256', blockSize });
      } catch (err) {
        assert.instance(err, SystemError, String(err));
        assert.is((err as SystemError).errno, 'EINVAL', String(err));
        continue;
      }
      accepted.push(blockSize);
      const kernel = await measureVerity(path);
      const wasm = await digestFile(path, { hashAlg: 'sha256', blockSize });
      const [digest] = await tool(['digest', '--hash-alg=sha256', `--block-size=${blockSize}`, path]);
      assert.is(`sha256:${kernel.hex} ${path}`, digest);
      assert.is(wasm.hex, kernel.hex);
    }
  });
  console.log(`\n  kernel ${release()} on ext4 (4 KiB blocks) takes Merkle block sizes ${accepted.join(', ')}`);
  assert.ok(accepted.includes(BLOCK));
  if (pageSizeOnly(release())) assert.equal(accepted, [BLOCK]);
});

test.after(closeDigestWorkers);
test.run();
