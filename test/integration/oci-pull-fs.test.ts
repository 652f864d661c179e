/**
 * Where the import's zero copies come from: on btrfs the layer files are
 * reflinked (shared extents), across file systems they are copied, and
 * `--local-fetch zerocopy` refuses that copy and leaves no trace.
 */
import { spawnSync } from 'node:child_process';
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cfskit } from '../support/cli.js';
import { IMAGE_NAMES } from '../support/cstor-fixtures.js';
import { assertAllShared } from '../support/extents.js';
import { loopFsPrereqs, withLoopFs, withTwoLoopFs } from '../support/loopfs.js';
import { buildImportFixtures, pull, streamLinks, type ImportFixtures } from '../support/oci-fixtures.js';
import { havePodman } from '../support/podman.js';
import { gated, haveTool } from '../support/prereq.js';

const test = suite<{ fixtures?: ImportFixtures }>('oci pull on file systems', {});
const it = gated(test, havePodman(), ...loopFsPrereqs('btrfs', 'ext4'), haveTool('filefrag', ['-V']));

test.before(async (ctx) => {
  if (havePodman() !== undefined) return;
  ctx.fixtures = await buildImportFixtures();
});

test.after(async (ctx) => {
  await ctx.fixtures?.store.destroy();
});

/** A copy of the fixture store at `dest` (reading it needs no podman). */
function copyStore(fixtures: ImportFixtures, dest: string): string {
  const r = spawnSync('cp', ['-a', fixtures.store.root, dest]);
  if (r.status !== 0) throw new Error(`cp -a: ${String(r.stderr)}`);
  return dest;
}

interface Stats {
  objectsReflinked: number;
  objectsHardlinked: number;
  objectsCopied: number;
  bytesReflinked: number;
}

it('on btrfs, layer files are reflinked into the repository', async (ctx) => {
  const fixtures = ctx.fixtures;
  if (!fixtures) throw new Error('fixtures were not built');
  await withLoopFs('btrfs', { sizeMiB: 1024 }, async (mnt) => {
    const root = copyStore(fixtures, join(mnt, 'storage'));
    const repo = join(mnt, 'repo');
    assert.is((await cfskit(['--repo', repo, 'init', '--insecure'])).status, 0);
    const r = await pull(repo, root, IMAGE_NAMES.base, '--json', '--local-fetch', 'zerocopy');
    assert.is(r.status, 0, r.stderr);
    const stats = (JSON.parse(r.stdout) as { stats: Stats }).stats;
    assert.ok(stats.objectsReflinked > 10, JSON.stringify(stats));
    assert.is(stats.objectsHardlinked + stats.objectsCopied, 0);
    // data/big is a 1 MiB+7 file of the base layer: its object shares its extents.
    const layer = fixtures.images.base.layers[0]?.id ?? '';
    const big = join(root, 'overlay', layer, 'diff', 'data/big');
    const digest = spawnSync('fsverity', ['digest', '--hash-alg=sha512', big]).stdout.toString().split(/[: ]/)[1] ?? '';
    await assertAllShared(join(repo, 'objects', digest.slice(0, 2), digest.slice(2)), (1 << 20) + 7, 'object of data/big');
    assert.is((await cfskit(['--repo', repo, 'fsck'])).status, 0);
  });
});

it('across file systems files are copied; zerocopy refuses and leaves nothing visible', async (ctx) => {
  const fixtures = ctx.fixtures;
  if (!fixtures) throw new Error('fixtures were not built');
  await withTwoLoopFs(['ext4', 'btrfs'], { sizeMiB: 1024 }, async (storeFs, repoFs) => {
    const root = copyStore(fixtures, join(storeFs, 'storage'));
    const repo = join(repoFs, 'repo');
    assert.is((await cfskit(['--repo', repo, 'init', '--insecure'])).status, 0);
    const before = await streamLinks(repo);
    const refused = await pull(repo, root, IMAGE_NAMES.copy, '--local-fetch', 'zerocopy');
    assert.is(refused.status, 1);
    assert.match(refused.stderr, /neither a reflink nor a hardlink .* is possible \(different file systems\), and copying is not allowed \(zerocopy\)/);
    assert.match(refused.stderr, /layer [0-9a-f]{12}…: tar-split entry \d+/);
    assert.equal(await streamLinks(repo), before, 'no stream, ref or image appeared');
    const copied = await pull(repo, root, IMAGE_NAMES.copy, '--json');
    assert.is(copied.status, 0, copied.stderr);
    const stats = (JSON.parse(copied.stdout) as { stats: Stats }).stats;
    assert.ok(stats.objectsCopied > 0, JSON.stringify(stats));
    assert.is(stats.objectsReflinked + stats.objectsHardlinked, 0);
    const tag = await readlink(join(repo, 'streams/refs/oci', `containers-storage:${IMAGE_NAMES.copy.replace(/\//g, '%2F')}`));
    assert.match(tag, /^\.\.\/\.\.\/oci-manifest-sha256:/);
    assert.is((await cfskit(['--repo', repo, 'fsck'])).status, 0);
  });
});

test.run();
