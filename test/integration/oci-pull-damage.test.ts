/**
 * A damaged containers-storage makes `oci pull` fail with an error naming
 * the layer, entry and file, and the repository shows nothing new: no
 * stream, ref or image, and fsck stays clean.
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CFSKIT, cfskit, run } from '../support/cli.js';
import { IMAGE_NAMES } from '../support/cstor-fixtures.js';
import { buildImportFixtures, pull, streamLinks, type ImportFixtures } from '../support/oci-fixtures.js';
import { havePodman } from '../support/podman.js';
import { gated, haveRoot, haveTool } from '../support/prereq.js';

const test = suite<{ fixtures?: ImportFixtures }>('oci pull damage', {});
const it = gated(test, havePodman());

test.before(async (ctx) => {
  if (havePodman() !== undefined) return;
  ctx.fixtures = await buildImportFixtures();
});

test.after(async (ctx) => {
  await ctx.fixtures?.store.destroy();
});

interface Damaged {
  root: string;
  layerDir: string;
  tarSplit: string;
}

/** Replaces rather than writes into: the copy's files are hard links to the fixture's. */
async function replaceFile(path: string, data: Buffer | string): Promise<void> {
  await writeFile(`${path}.new`, data);
  await rename(`${path}.new`, path);
}

async function editTarSplit(path: string, edit: (records: Record<string, unknown>[]) => void): Promise<void> {
  const records = gunzipSync(await readFile(path)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  edit(records);
  await replaceFile(path, gzipSync(`${records.map((r) => JSON.stringify(r)).join('\n')}\n`));
}

function record(records: Record<string, unknown>[], name: string): Record<string, unknown> {
  const r = records.find((x) => x.name === name);
  if (!r) throw new Error(`no record ${name}`);
  return r;
}

async function pullFails(ctx: { fixtures?: ImportFixtures }, damage: (d: Damaged) => Promise<void>, message: RegExp | string): Promise<void> {
  const fixtures = ctx.fixtures;
  if (!fixtures) throw new Error('fixtures were not built');
  const dir = await mkdtemp(join(tmpdir(), 'cfskit-pull-damage-'));
  try {
    const root = join(dir, 'root');
    const cp = spawnSync('cp', ['-al', fixtures.store.root, root]);
    if (cp.status !== 0) throw new Error(`cp -al: ${String(cp.stderr)}`);
    const layer = fixtures.images.base.layers[0]?.id ?? '';
    await damage({ root, layerDir: join(root, 'overlay', layer, 'diff'), tarSplit: join(root, 'overlay-layers', `${layer}.tar-split.gz`) });
    const repo = join(dir, 'repo');
    assert.is((await cfskit(['--repo', repo, 'init', '--insecure'])).status, 0);
    const r = await pull(repo, root, IMAGE_NAMES.base);
    assert.is(r.status, 1, `exit status (stderr ${r.stderr})`);
    assert.match(r.stderr, message);
    assert.equal(await streamLinks(repo), [], 'no stream, ref or image is visible');
    const fsck = await cfskit(['--repo', repo, 'fsck']);
    assert.is(fsck.status, 0, fsck.stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

it('a wrong CRC in a stored file and in an inlined file', async (ctx) => {
  await pullFails(
    ctx,
    (d) => editTarSplit(d.tarSplit, (rs) => (record(rs, 'data/exact-65').payload = Buffer.alloc(8, 7).toString('base64'))),
    /layer [0-9a-f]{12}…: tar-split entry \d+: CRC64 mismatch for data\/exact-65 \(diff\/ has [0-9a-f]{16}, tar-split says 0707070707070707\)/,
  );
  await pullFails(ctx, (d) => replaceFile(join(d.layerDir, 'data/exact-64'), Buffer.alloc(64, 1)), /tar-split entry \d+: CRC64 mismatch for data\/exact-64/);
});

it('files missing or resized in diff/', async (ctx) => {
  await pullFails(ctx, (d) => rm(join(d.layerDir, 'data/big')), /data\/big is missing from the layer/);
  await pullFails(
    ctx,
    async (d) => replaceFile(join(d.layerDir, 'data/big'), Buffer.concat([await readFile(join(d.layerDir, 'data/big')), Buffer.from('x')])),
    `data/big is ${(1 << 20) + 8} bytes, tar-split says ${(1 << 20) + 7}`,
  );
});

it('damaged tar-split metadata and a damaged images.json', async (ctx) => {
  await pullFails(ctx, async (d) => replaceFile(d.tarSplit, (await readFile(d.tarSplit)).subarray(0, 300)), /truncated gzip data/);
  await pullFails(ctx, (d) => replaceFile(d.tarSplit, 'plain text'), /not gzip data, or damaged/);
  await pullFails(
    ctx,
    (d) => editTarSplit(d.tarSplit, (rs) => {
      const seg = rs.find((x) => x.type === 2 && Number(x.position) > 3);
      if (seg) seg.payload = 'not base64!';
    }),
    /tar-split entry \d+: payload is not valid base64/,
  );
  await pullFails(ctx, (d) => editTarSplit(d.tarSplit, (rs) => (record(rs, 'data/exact-64').type = 7)), /tar-split entry \d+: unknown record type 7/);
  await pullFails(
    ctx,
    async (d) => replaceFile(join(d.root, 'overlay-images/images.json'), (await readFile(join(d.root, 'overlay-images/images.json'), 'utf8')).slice(0, 40)),
    /overlay-images\/images.json: /,
  );
});

gated(test, havePodman(), haveRoot(), haveTool('setpriv', ['--version']))('not root: an unreadable file is named, with the way to run it', async (ctx) => {
  const fixtures = ctx.fixtures;
  if (!fixtures) throw new Error('fixtures were not built');
  const dir = await mkdtemp(join(tmpdir(), 'cfskit-pull-rootless-'));
  try {
    await chmod(dir, 0o755);
    const root = join(dir, 'root');
    const cp = spawnSync('cp', ['-a', fixtures.store.root, root]);
    if (cp.status !== 0) throw new Error(`cp -a: ${String(cp.stderr)}`);
    spawnSync('chmod', ['-R', 'a+rX', root]);
    const layer = fixtures.images.base.layers[0]?.id ?? '';
    const secret = join(root, 'overlay', layer, 'diff', 'data/big');
    await chmod(secret, 0o600);
    const repo = join(dir, 'repo');
    assert.is((await cfskit(['--repo', repo, 'init', '--insecure'])).status, 0);
    spawnSync('chown', ['-R', '65534:65534', repo]);
    const r = await run(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CFSKIT, '--repo', repo, 'oci', 'pull', `containers-storage:${IMAGE_NAMES.base}`, '--storage-root', root],
      { env: { ...process.env, HOME: '/nonexistent' } },
    );
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, `${secret}: open failed: permission denied; files of a rootless store belong to other uids of your user namespace: run this under \`podman unshare\``);
    assert.equal(await streamLinks(repo), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
