/**
 * Damaged and hostile stores: a copy of a real podman store is broken one
 * way at a time, and every cfskit cstor command must fail with an error
 * naming the input (layer, tar-split entry, file) and leave the store
 * exactly as it was.
 */
import { spawnSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CFSKIT, cfskit, run } from '../support/cli.js';
import { withHardContentImages, type HardContentContext } from '../support/cstor-fixtures.js';
import { havePodman, withPodmanStore, type FixtureImage } from '../support/podman.js';
import { pattern } from '../support/pattern.js';
import { gated, haveRoot, haveTool } from '../support/prereq.js';

const test = suite<HardContentContext>('cstor damage', {});
const it = gated(test, havePodman());

withHardContentImages(test);

/** Every path under `dir` with its type, size, mode and mtime. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(join(dir, rel), { encoding: 'buffer' })) {
      const path = join(rel, name.toString('latin1'));
      const st = await lstat(Buffer.concat([Buffer.from(`${dir}/${rel}${rel ? '/' : ''}`), name]));
      out.push(`${path} ${st.mode.toString(8)} ${st.isDirectory() ? '-' : st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) await walk(join(rel, name.toString('latin1')));
    }
  };
  await walk('');
  return out.sort();
}

interface Damaged {
  root: string;
  base: FixtureImage;
  layer: string;
  layerDir: string;
  tarSplit: string;
}

/**
 * Files in the copies are hard links to the fixture store's (copying is
 * slow here): damage must replace a file, never write into it.
 */
async function replaceFile(path: string, data: Buffer | string): Promise<void> {
  await writeFile(`${path}.new`, data);
  await rename(`${path}.new`, path);
}

/**
 * Copies the store (hard links, or real copies with `deep`), damages the
 * copy, runs `check`, then proves the copy was left as it was.
 */
async function withDamage(
  ctx: HardContentContext,
  damage: (d: Damaged) => Promise<void>,
  check: (d: Damaged) => Promise<void>,
  deep = false,
): Promise<void> {
  const { store, images } = ctx;
  if (!store || !images) throw new Error('fixtures were not built');
  const dir = await mkdtemp(join(tmpdir(), 'cfskit-damaged-'));
  try {
    const root = join(dir, 'root');
    // cp: whiteouts are character devices, which fs.cp cannot copy.
    const copied = spawnSync('cp', [deep ? '-a' : '-al', store.root, root]);
    if (copied.status !== 0) throw new Error(`cp -a failed: ${String(copied.stderr)}`);
    const layer = images.base.layers[0]?.id ?? '';
    const d = {
      root, base: images.base, layer,
      layerDir: join(root, 'overlay', layer, 'diff'),
      tarSplit: join(root, 'overlay-layers', `${layer}.tar-split.gz`),
    };
    await damage(d);
    const before = await snapshot(dir);
    await check(d);
    assert.equal(await snapshot(dir), before, 'the store is left as it was');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface TsRecord { type: number; name?: string; payload?: string | null; position: number; size?: number }

async function editTarSplit(path: string, edit: (records: TsRecord[]) => void): Promise<void> {
  const lines = gunzipSync(await readFile(path)).toString('utf8').trim().split('\n');
  const records = lines.map((l) => JSON.parse(l) as TsRecord);
  edit(records);
  await replaceFile(path, gzipSync(records.map((r) => JSON.stringify(r)).join('\n') + '\n'));
}

function named(records: TsRecord[], name: string): TsRecord {
  const r = records.find((x) => x.name === name);
  if (!r) throw new Error(`no record ${name}`);
  return r;
}

async function layerTarFails(d: Damaged, message: string | RegExp, args: string[] = []): Promise<void> {
  const r = await cfskit(['cstor', 'layer-tar', '--storage-root', d.root, ...args, d.layer]);
  assert.is(r.status, 1, `exit status (stderr: ${r.stderr})`);
  assert.match(r.stderr, message);
  assert.match(r.stderr, `layer ${d.layer.slice(0, 12)}…`);
}

it('a truncated or non-gzip tar-split file is named', async (ctx) => {
  await withDamage(ctx, async (d) => replaceFile(d.tarSplit, (await readFile(d.tarSplit)).subarray(0, 200)), async (d) => {
    await layerTarFails(d, `${d.tarSplit}: truncated gzip data`);
  });
  await withDamage(ctx, async (d) => replaceFile(d.tarSplit, '{"type":2,"payload":"","position":0}\n'), async (d) => {
    await layerTarFails(d, `${d.tarSplit}: not gzip data, or damaged`);
  });
  await withDamage(ctx, async (d) => rm(d.tarSplit), async (d) => {
    await layerTarFails(d, `no tar-split metadata (${d.tarSplit})`);
  });
});

it('damaged tar-split records name their entry', async (ctx) => {
  const cases: [string, (records: TsRecord[]) => void, RegExp][] = [
    ['bad base64', (rs) => { const r = rs.find((x) => x.type === 2 && x.position > 3); if (r) r.payload = 'not base64!'; }, /tar-split entry \d+: payload is not valid base64/],
    ['wrong CRC', (rs) => { named(rs, 'data/exact-65').payload = Buffer.alloc(8, 7).toString('base64'); }, /tar-split entry \d+: CRC64 mismatch for data\/exact-65 \(diff\/ has [0-9a-f]{16}, tar-split says 0707070707070707\)/],
    ['unknown type', (rs) => { named(rs, 'data/exact-64').type = 7; }, /tar-split entry \d+: unknown record type 7/],
    ['escaping name', (rs) => { named(rs, 'data/exact-64').name = '../../../../etc/passwd'; }, /tar-split entry \d+: name "..\/..\/..\/..\/etc\/passwd" escapes the layer/],
    ['absolute name', (rs) => { named(rs, 'data/exact-64').name = '/etc/shadow'; }, /tar-split entry \d+: name "\/etc\/shadow" is absolute/],
    ['negative size', (rs) => { named(rs, 'data/big').size = -1; }, /tar-split entry \d+: negative size -1 for data\/big/],
    ['out of sequence', (rs) => { const r = rs[5]; if (r) r.position = 99; }, /tar-split entry 5: position 99 out of sequence \(expected 5\)/],
    ['duplicate', (rs) => { named(rs, 'data/exact-64').name = 'data/exact-65'; }, /tar-split entry \d+: name "data\/exact-65" appears twice/],
  ];
  for (const [what, edit, message] of cases) {
    await withDamage(ctx, async (d) => editTarSplit(d.tarSplit, edit), async (d) => layerTarFails(d, message));
    void what;
  }
});

it('missing, resized, changed or misplaced files in diff/ are named', async (ctx) => {
  await withDamage(ctx, async (d) => rm(join(d.layerDir, 'data/exact-65')), async (d) => {
    await layerTarFails(d, `tar-split entry`);
    await layerTarFails(d, `${join(d.layerDir, 'data/exact-65')} is missing from the layer`);
  });
  await withDamage(ctx, async (d) => replaceFile(join(d.layerDir, 'data/big'), Buffer.concat([await readFile(join(d.layerDir, 'data/big')), Buffer.from('x')])), async (d) => {
    await layerTarFails(d, `${join(d.layerDir, 'data/big')} is ${(1 << 20) + 8} bytes, tar-split says ${(1 << 20) + 7}`);
  });
  // Small files are read whole while being opened: the same errors.
  await withDamage(ctx, async (d) => replaceFile(join(d.layerDir, 'data/exact-65'), pattern(66)), async (d) => {
    await layerTarFails(d, `${join(d.layerDir, 'data/exact-65')} is 66 bytes, tar-split says 65`);
  });
  await withDamage(
    ctx,
    async (d) => {
      await rm(join(d.layerDir, 'data/exact-65'));
      await mkdir(join(d.layerDir, 'data/exact-65'));
    },
    async (d) => layerTarFails(d, `${join(d.layerDir, 'data/exact-65')} is not a regular file`),
  );
  await withDamage(ctx, async (d) => replaceFile(join(d.layerDir, 'data/exact-64'), Buffer.alloc(64, 1)), async (d) => {
    await layerTarFails(d, /tar-split entry \d+: CRC64 mismatch for data\/exact-64/);
  });
  await withDamage(
    ctx,
    async (d) => {
      await rm(join(d.layerDir, 'data/many'), { recursive: true });
      await symlink('/etc', join(d.layerDir, 'data/many'));
    },
    // Opened beneath diff/ (openat2 RESOLVE_BENEATH): the first file below the symlink is refused.
    async (d) => layerTarFails(d, new RegExp(`${join(d.layerDir, 'data/many')}/[^ ]+ leads outside the layer \\(a symlink or "\\.\\."\\)`)),
  );
  await withDamage(
    ctx,
    async (d) => {
      await rm(join(d.layerDir, 'data/exact-65'));
      await symlink('/etc/passwd', join(d.layerDir, 'data/exact-65'));
    },
    async (d) => layerTarFails(d, `${join(d.layerDir, 'data/exact-65')} is a symlink, not the file's content`),
  );
});

it('a rebuilt tar that does not hash to the diff digest is an error', async (ctx) => {
  await withDamage(
    ctx,
    async (d) => editTarSplit(d.tarSplit, (rs) => {
      // Change a header's mtime digit: every file still matches its CRC.
      const seg = rs.find((r) => r.type === 2 && r.position > 10 && r.payload);
      const bytes = Buffer.from(seg?.payload ?? '', 'base64');
      bytes[bytes.length - 512 + 136] = 0x32;
      if (seg) seg.payload = bytes.toString('base64');
    }),
    async (d) => {
      await layerTarFails(d, /rebuilt tar has digest sha256:[0-9a-f]{64}, layers.json says sha256:/);
      const r = await cfskit(['cstor', 'layer-tar', '--storage-root', d.root, '--no-verify-digest', d.layer]);
      assert.is(r.status, 0, r.stderr);
    },
  );
});

it('damaged images.json and layers.json are named', async (ctx) => {
  const cases: [string, (root: string) => Promise<void>, string[], RegExp][] = [
    ['truncated images.json', async (root) => replaceFile(join(root, 'overlay-images/images.json'), (await readFile(join(root, 'overlay-images/images.json'))).subarray(0, 100)), ['images'], /overlay-images\/images.json: damaged: not valid JSON/],
    ['images.json not a list', async (root) => replaceFile(join(root, 'overlay-images/images.json'), '{"id":"x"}'), ['images'], /images.json: damaged: not a JSON list of records/],
    ['bad image id', async (root) => {
      const path = join(root, 'overlay-images/images.json');
      await replaceFile(path, (await readFile(path, 'utf8')).replace(/"id":"[0-9a-f]{64}"/, '"id":"../../etc"'));
    }, ['images'], /images.json: damaged: record 0: "id" "..\/..\/etc" is not a 64-digit hex ID/],
    ['truncated layers.json', async (root) => replaceFile(join(root, 'overlay-layers/layers.json'), (await readFile(join(root, 'overlay-layers/layers.json'))).subarray(0, 50)), ['layers'], /overlay-layers\/layers.json: damaged: not valid JSON/],
    ['bad diff digest', async (root) => {
      const path = join(root, 'overlay-layers/layers.json');
      await replaceFile(path, (await readFile(path, 'utf8')).replace(/"diff-digest":"sha256:[0-9a-f]{64}"/, '"diff-digest":"sha256:zz"'));
    }, ['layers'], /layers.json: damaged: layer [0-9a-f]{64}: "diff-digest" "sha256:zz" is not a digest/],
  ];
  for (const [what, damage, command, message] of cases) {
    await withDamage(ctx, async (d) => damage(d.root), async (d) => {
      const r = await cfskit(['cstor', ...command, '--storage-root', d.root]);
      assert.is(r.status, 1, what);
      assert.match(r.stderr, message, what);
      assert.is(r.stdout, '', what);
    });
  }
});

it('an ambiguous ID prefix is a usage error', async (ctx) => {
  await withDamage(
    ctx,
    async (d) => {
      const path = join(d.root, 'overlay-images/images.json');
      const images = JSON.parse(await readFile(path, 'utf8')) as { id: string }[];
      const twin = { ...images[0], id: `${images[0]?.id.slice(0, 40) ?? ''}${'0'.repeat(24)}`, names: [] };
      await replaceFile(path, JSON.stringify([...images, twin]));
    },
    async (d) => {
      const prefix = d.base.id.slice(0, 40);
      const r = await cfskit(['cstor', 'layers', '--storage-root', d.root, prefix]);
      assert.is(r.status, 2);
      assert.match(r.stderr, `image ID prefix "${prefix}" is ambiguous: it matches 2`);
    },
  );
});

gated(test, havePodman())('stores of other drivers are refused', async () => {
  await withPodmanStore(async (vfs) => {
    const tar = join(vfs.dir, 'one.tar');
    spawnSync('tar', ['-cf', tar, '-C', '/etc', 'hostname']);
    await vfs.podman(['import', '--quiet', tar, 'localhost/vfs:1'], ['--storage-driver', 'vfs']);
    const r = await cfskit(['cstor', 'images', '--storage-root', vfs.root]);
    assert.is(r.status, 1);
    assert.match(r.stderr, `${vfs.root}: containers-storage uses the "vfs" driver; cfskit reads only overlay stores`);
    const conf = join(vfs.dir, 'btrfs.conf');
    await writeFile(conf, `[storage]\ndriver = "btrfs"\ngraphroot = "${vfs.root}"\n`);
    const viaConf = await cfskit(['cstor', 'images'], { env: { ...process.env, CONTAINERS_STORAGE_CONF: conf } });
    assert.is(viaConf.status, 1);
    assert.match(viaConf.stderr, 'uses the "btrfs" driver');
  });
});

gated(test, havePodman(), haveRoot(), haveTool('setpriv', ['--version']))('an unreadable file names itself and suggests podman unshare', async (ctx) => {
  await withDamage(
    ctx,
    async (d) => {
      spawnSync('chmod', ['-R', 'a+rX', d.root]);
      await chmod(join(d.layerDir, 'data/exact-65'), 0o600);
      await chmod(join(d.root, '..'), 0o755);
    },
    async (d) => {
      const r = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CFSKIT, 'cstor', 'layer-tar', '--storage-root', d.root, d.layer], {
        env: { ...process.env, HOME: '/nonexistent' },
      });
      assert.is(r.status, 1, r.stderr);
      assert.match(r.stderr, `${join(d.layerDir, 'data/exact-65')}: open failed: permission denied; files of a rootless store belong to other uids of your user namespace: run this under \`podman unshare\` (EACCES)`);
    },
    true,
  );
});

test.run();
