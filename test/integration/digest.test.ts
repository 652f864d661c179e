/**
 * `cfskit digest` against `fsverity digest` (fsverity-utils) at every size
 * edge of the Merkle tree, for both algorithms and several block sizes.
 */
import { mkfifo } from '../support/mkfifo.js';
import { chmod, mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeDigestWorkers, digestFile } from '../../src/fsverity/digest.js';
import { CFSKIT, check, cfskit, run } from '../support/cli.js';
import { pattern } from '../support/pattern.js';
import { gated, haveRoot, haveTool } from '../support/prereq.js';
import { withTempDir } from '../support/tmp.js';
import { seededRandom } from '../support/random.js';

const it = gated(test, haveTool('fsverity'));

/** Sizes where the tree changes shape: around one block and each new level. */
function edgeSizes(blockSize: number, digestSize: number, limit: number): number[] {
  const fanOut = blockSize / digestSize;
  const sizes = new Set([0, 1, blockSize - 1, blockSize, blockSize + 1]);
  for (let span = blockSize * fanOut; span <= limit; span *= fanOut) {
    for (const s of [span - 1, span, span + 1]) sizes.add(s);
  }
  return [...sizes].sort((a, b) => a - b);
}

const combos = [
  { hashAlg: 'sha256', blockSize: 4096 },
  { hashAlg: 'sha512', blockSize: 4096 },
  { hashAlg: 'sha256', blockSize: 1024 },
  { hashAlg: 'sha512', blockSize: 1024 },
  { hashAlg: 'sha512', blockSize: 65536 },
  { hashAlg: 'sha256', blockSize: 16384 },
];

it('cfskit digest prints what fsverity digest prints, at every tree edge', async () => {
  const seed = Number(process.env.CFSKIT_TEST_SEED ?? Date.now() % 100000);
  const rand = seededRandom(seed);
  await withTempDir('edges', async (dir) => {
    for (const { hashAlg, blockSize } of combos) {
      const digestSize = hashAlg === 'sha256' ? 32 : 64;
      const sizes = edgeSizes(blockSize, digestSize, 80 << 20);
      for (let i = 0; i < 4; i++) sizes.push(Math.floor(rand() * (blockSize * 300)));
      const files: string[] = [];
      for (const size of sizes) {
        const path = join(dir, `${hashAlg}-${blockSize}-${size}`);
        await writeFile(path, pattern(size, size));
        files.push(path);
      }
      const flags = [`--hash-alg=${hashAlg}`, `--block-size=${blockSize}`];
      const want = await check('fsverity', ['digest', ...flags, ...files]);
      const got = await cfskit(['digest', '--hash-alg', hashAlg, '--block-size', `${blockSize}`, ...files]);
      assert.is(got.stderr, '');
      assert.is(got.status, 0);
      assert.is(got.stdout, want, `${hashAlg}/${blockSize} (CFSKIT_TEST_SEED=${seed})`);
      // Split over threads with small jobs, the library must agree too.
      const lines = want.trim().split('\n');
      for (const [i, path] of files.entries()) {
        const d = await digestFile(path, { hashAlg, blockSize, threads: 2, parallelThreshold: 1, jobBytes: blockSize * 7 });
        assert.is(`${hashAlg}:${d.hex} ${path}`, lines[i]);
      }
    }
  });
});

it('a 3 GiB sparse file: serial and parallel equal fsverity digest', async () => {
  await withTempDir('sparse', async (dir) => {
    const path = join(dir, 'sparse');
    const fh = await open(path, 'w');
    // Some data among the holes, one piece straddling a 4 KiB block edge.
    await fh.write(pattern(5000), 0, 5000, (1 << 30) - 2000);
    await fh.write(pattern(123), 0, 123, 2 * (1 << 30) + 7);
    await fh.truncate(3 * (1 << 30));
    await fh.close();
    const want = (await check('fsverity', ['digest', '--hash-alg=sha512', path])).split(' ')[0];
    const parallel = await digestFile(path, { hashAlg: 'sha512' });
    assert.is(`sha512:${parallel.hex}`, want, 'parallel');
    const serial = await digestFile(path, { hashAlg: 'sha512', threads: 1 });
    assert.is(`sha512:${serial.hex}`, want, 'serial');
  });
});

it('bad files are named, the others still digested, exit status 1', async () => {
  await withTempDir('bad', async (dir) => {
    const good = join(dir, 'good');
    await writeFile(good, 'hello');
    const fifo = join(dir, 'fifo');
    await mkfifo(fifo);
    const subdir = join(dir, 'subdir');
    await mkdir(subdir);
    const missing = join(dir, 'missing');
    const r = await cfskit(['digest', missing, good, subdir, fifo]);
    assert.is(r.status, 1);
    const want = (await check('fsverity', ['digest', '--hash-alg=sha512', good])).trim();
    assert.is(r.stdout.trim(), want);
    assert.match(r.stderr, `${missing}: open failed: no such file or directory (ENOENT)`);
    assert.match(r.stderr, `${subdir}: not a regular file`);
    assert.match(r.stderr, `${fifo}: not a regular file`);
    const json = await cfskit(['digest', '--json', good, missing]);
    assert.is(json.status, 1);
    const parsed = JSON.parse(json.stdout) as { path: string; digest?: string; error?: { code: string } }[];
    assert.is(parsed[0]?.digest, want.split(' ')[0]);
    assert.is(parsed[1]?.error?.code, 'system');
  });
});

gated(test, haveRoot(), haveTool('setpriv', ['--version']))('a file the user may not read is reported as EACCES', async () => {
  await withTempDir('perm', async (dir) => {
    await chmod(dir, 0o755);
    const secret = join(dir, 'secret');
    await writeFile(secret, 'x');
    await chmod(secret, 0o600);
    const r = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CFSKIT, 'digest', secret]);
    assert.is(r.status, 1);
    assert.match(r.stderr, `${secret}: open failed: permission denied (EACCES)`);
  });
});

test('bad options are usage errors with exit status 2', async () => {
  const cases: [string[], RegExp][] = [
    [['digest', '--hash-alg', 'md5', '/etc/hostname'], /--hash-alg must be one of sha256, sha512 \(got "md5"\)/],
    [['digest', '--block-size', '1000', '/etc/hostname'], /invalid block size 1000/],
    [['digest', '--block-size', 'big', '/etc/hostname'], /--block-size needs a whole number \(got "big"\)/],
    [['digest', '--threads', '0', '/etc/hostname'], /invalid thread count 0/],
    [['digest', '--frobnicate', '/etc/hostname'], /unknown option --frobnicate/],
    [['digest', '--block-size'], /--block-size needs a value/],
    [['digest'], /missing arguments/],
    [['nonsense'], /unknown command "nonsense"/],
  ];
  for (const [args, message] of cases) {
    const r = await cfskit(args);
    assert.is(r.status, 2, args.join(' '));
    assert.match(r.stderr, message, args.join(' '));
    assert.not.match(r.stderr, /cfskit( \w+)*: cfskit/, `the command is named once: ${r.stderr}`);
    assert.is(r.stdout, '');
  }
});

test('--help spells options as they are typed (kebab-case)', async () => {
  for (const [args, option] of [
    [['digest', '--help'], '--block-size'],
    [['oci', 'pull', '--help'], '--additional-image-store'],
  ] as const) {
    const r = await cfskit(args);
    assert.is(r.status, 0, args.join(' '));
    assert.ok(r.stdout.includes(option), `${args.join(' ')} shows ${option}`);
    assert.not.match(r.stdout, /--[a-z]+[A-Z]/, `${args.join(' ')}: no camelCase option`);
  }
});

test.after(closeDigestWorkers);
test.run();
