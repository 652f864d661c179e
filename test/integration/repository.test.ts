/**
 * The repository on a real file system (insecure mode: this kernel has no
 * fs-verity; test/vm covers secure mode): meta.json, objects, streams,
 * refs, hostile names and links, and the CLI's init/cat/fsck.
 */
import { mkdir, readFile, readlink, symlink, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InputError, NotFoundError, UnsupportedError, UsageError } from '../../common/index.js';
import { digestBytes } from '../../src/fsverity/digest.js';
import { Repository } from '../../src/repository/index.js';
import { CONTENT_TYPES } from '../../src/splitstream/index.js';
import { cfskit } from '../support/cli.js';
import { pattern } from '../support/pattern.js';
import { gated, haveRoot } from '../support/prereq.js';
import { withTempDir } from '../support/tmp.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

async function withRepo<T>(body: (repo: Repository, dir: string) => Promise<T>, algorithm = 'fsverity-sha512-12'): Promise<T> {
  return withTempDir('repo', async (dir) => {
    const repo = await Repository.init(join(dir, 'repo'), { algorithm, insecure: true });
    try {
      return await body(repo, join(dir, 'repo'));
    } finally {
      await repo.close();
    }
  });
}

/** What cfsctl 0.9.0's `init [--erofs-version N]` writes, byte for byte. */
const cfsctlMeta = (algorithm: string, version: 0 | 1 | 2): string =>
  `{\n  "version": 1,\n  "algorithm": "${algorithm}",\n  "features": {\n    "compatible": [],\n` +
  `    "read-only-compatible": ${version === 1 ? '[\n      "v1_erofs"\n    ]' : '[]'},\n    "incompatible": []\n  },\n` +
  `  "erofs_formats": {\n    "default": ${version}\n  }\n}\n`;

test('init writes meta.json as composefs-rs 0.9 does (V1 by default) and is idempotent', async () => {
  await withRepo(async (repo, path) => {
    assert.is(await readFile(join(path, 'meta.json'), 'utf8'), cfsctlMeta('fsverity-sha512-12', 1));
    assert.is(repo.erofsVersion, 1);
    assert.is(repo.security, 'insecure');
    assert.is(((await stat(path)).mode & 0o777).toString(8), '700');
    const again = await Repository.create(path, { insecure: true });
    assert.is(again.created, false);
    await again.repository.close();
    for (const [options, wanted] of [
      [{ algorithm: 'fsverity-sha256-12' }, 'algorithm: fsverity-sha256-12, erofs_version: V1'],
      [{ erofsVersion: 2 }, 'algorithm: fsverity-sha512-12, erofs_version: V2'],
    ] as const) {
      try {
        await Repository.init(path, { insecure: true, ...options });
        assert.unreachable();
      } catch (e) {
        assert.instance(e, InputError);
        assert.match(
          (e as Error).message,
          `repository already initialized with different configuration (algorithm: fsverity-sha512-12, erofs_version: V1); cannot re-initialize with (${wanted})`,
        );
      }
    }
  });
  await withTempDir('formats', async (dir) => {
    for (const version of [0, 2] as const) {
      const repo = await Repository.init(join(dir, `v${version}`), { insecure: true, erofsVersion: version, algorithm: 'fsverity-sha256-12' });
      assert.is(repo.erofsVersion, version);
      await repo.close();
      assert.is(await readFile(join(dir, `v${version}`, 'meta.json'), 'utf8'), cfsctlMeta('fsverity-sha256-12', version));
    }
  });
});

test('meta.json formats: absent is V2 (V1 with v1_erofs), extra formats, an override; unknown versions refused by name', async () => {
  await withTempDir('meta-formats', async (dir) => {
    const cases: [string, number[]][] = [
      ['{"version":1,"algorithm":"fsverity-sha512-12"}', [2]],
      ['{"version":1,"algorithm":"fsverity-sha512-12","features":{"read-only-compatible":["v1_erofs"]}}', [1]],
      // composefs-rs reads an explicit {"default": 2} beside v1_erofs as V1 too.
      ['{"version":1,"algorithm":"fsverity-sha512-12","features":{"read-only-compatible":["v1_erofs"]},"erofs_formats":{"default":2}}', [1]],
      ['{"version":1,"algorithm":"fsverity-sha512-12","erofs_formats":{"default":1,"extra":[2,1]}}', [1, 2]],
      ['{"version":1,"algorithm":"fsverity-sha512-12","erofs_formats":{"default":0},"unknown":"ignored"}', [0]],
    ];
    for (const [i, [json, versions]] of cases.entries()) {
      const path = join(dir, `f${i}`);
      await mkdir(path);
      await writeFile(join(path, 'meta.json'), json);
      const repo = await Repository.open(path);
      assert.equal(repo.erofsVersions, versions, json);
      await repo.close();
      const forced = await Repository.open(path, { erofsVersion: 2 });
      assert.equal(forced.erofsVersions, [2], `${json} with the override`);
      await forced.close();
    }
    for (const [json, message] of [
      ['{"version":1,"algorithm":"fsverity-sha512-12","erofs_formats":{"default":3}}', 'erofs_formats.default 3 is not an EROFS format version this cfskit knows (0, 1 or 2)'],
      ['{"version":1,"algorithm":"fsverity-sha512-12","erofs_formats":{"default":1,"extra":["v2"]}}', 'erofs_formats.extra "v2" is not an EROFS format version'],
      ['{"version":1,"algorithm":"fsverity-sha512-12","erofs_formats":[1]}', '"erofs_formats" must be an object'],
    ] as const) {
      const path = join(dir, `bad-${message.length}`);
      await mkdir(path);
      await writeFile(join(path, 'meta.json'), json);
      try {
        await Repository.open(path);
        assert.unreachable(json);
      } catch (e) {
        assert.instance(e, InputError, json);
        assert.match((e as Error).message, `${join(path, 'meta.json')}: ${message}`);
      }
    }
  });
});

test('init --ensure opens what exists, creates what does not, and gives an old repository a V2 meta.json; --reset-metadata keeps objects', async () => {
  await withTempDir('ensure', async (dir) => {
    const path = join(dir, 'r');
    const created = await cfskit(['--repo', path, 'init', '--insecure', '--ensure']);
    assert.match(created.stdout, `Initialized composefs repository at ${path}`);
    const opened = await cfskit(['--repo', path, '--erofs-version', '2', 'init', '--insecure', '--ensure']);
    assert.is(opened.status, 0, opened.stderr);
    assert.is(opened.stdout, `Repository already initialized at ${path} (existing configuration preserved)\n`);
    assert.is(await readFile(join(path, 'meta.json'), 'utf8'), cfsctlMeta('fsverity-sha512-12', 1));
    const clash = await cfskit(['--repo', path, '--erofs-version', '2', 'init', '--insecure']);
    assert.is(clash.status, 1);
    assert.match(clash.stderr, 'repository already initialized with different configuration');

    const old = join(dir, 'old');
    await mkdir(join(old, 'objects/ab'), { recursive: true });
    await writeFile(join(old, 'objects/ab', 'c'.repeat(126)), 'x');
    const upgraded = await cfskit(['--repo', old, 'init', '--ensure']);
    assert.is(upgraded.stdout, `Upgraded legacy repository at ${old}\n`, upgraded.stderr);
    assert.is(await readFile(join(old, 'meta.json'), 'utf8'), cfsctlMeta('fsverity-sha512-12', 2), 'its images were V2');

    await mkdir(join(path, 'streams/refs'), { recursive: true });
    const reset = await cfskit(['--repo', path, '--erofs-version', '2', 'init', '--insecure', '--reset-metadata']);
    assert.is(reset.status, 0, reset.stderr);
    assert.is(await readFile(join(path, 'meta.json'), 'utf8'), cfsctlMeta('fsverity-sha512-12', 2));
    assert.is(await stat(join(path, 'streams')).then(() => true, () => false), false);
    assert.is(await stat(join(path, 'objects')).then(() => true, () => false), true);
  });
});

test('init without --insecure on a file system without fs-verity says so', async () => {
  await withTempDir('secure', async (dir) => {
    try {
      await Repository.init(join(dir, 'r'));
      assert.unreachable();
    } catch (e) {
      assert.instance(e, UnsupportedError);
      assert.match((e as Error).message, /no fs-verity; use --insecure/);
    }
  });
});

test('open refuses newer versions, unknown incompatible features, bad JSON; reads old repositories', async () => {
  await withTempDir('meta', async (dir) => {
    const cases: [string, RegExp][] = [
      ['{"version":2,"algorithm":"fsverity-sha512-12"}', /format version 2 is newer/],
      ['{"version":1,"algorithm":"fsverity-sha512-12","features":{"incompatible":["zstd-objects"]}}', /features this cfskit does not know: zstd-objects/],
      ['{"version":1,"algorithm":"fsverity-md5-12"}', /unsupported algorithm/],
      ['{"version":1,"algorithm":"fsverity-sha512-16"}', /only 4 KiB blocks/],
      ['{"version":1', /invalid JSON/],
      ['[]', /not a JSON object/],
    ];
    for (const [i, [json, message]] of cases.entries()) {
      const path = join(dir, `r${i}`);
      await mkdir(path);
      await writeFile(join(path, 'meta.json'), json);
      try {
        await Repository.open(path);
        assert.unreachable(json);
      } catch (e) {
        assert.instance(e, InputError, json);
        assert.ok((e as Error).message.includes(join(path, 'meta.json')), json);
        assert.match((e as Error).message, message, json);
      }
    }
    const ro = join(dir, 'ro');
    await mkdir(ro);
    await writeFile(join(ro, 'meta.json'), '{"version":1,"algorithm":"fsverity-sha256-12","features":{"read-only-compatible":["future"]}}');
    const reader = await Repository.open(ro);
    assert.is(reader.hashAlg, 'sha256');
    await reader.close();
    try {
      await Repository.open(ro, { write: true });
      assert.unreachable();
    } catch (e) {
      assert.match((e as Error).message, /may read but not write: future/);
    }
    for (const [alg, len] of [['sha256', 62], ['sha512', 126]] as const) {
      const old = join(dir, `old-${alg}`);
      await mkdir(join(old, 'objects/ab'), { recursive: true });
      await writeFile(join(old, 'objects/ab', 'c'.repeat(len)), 'x');
      const repo = await Repository.open(old);
      assert.is(repo.hashAlg, alg);
      assert.is(repo.hasMeta, false);
      await repo.close();
    }
    const empty = join(dir, 'empty');
    await mkdir(empty);
    try {
      await Repository.open(empty);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, NotFoundError);
      assert.match((e as Error).message, /not a composefs repository/);
    }
  });
});

test('ensureObject stores content under its digest once', async () => {
  await withRepo(async (repo, path) => {
    for (const size of [0, 1, 4096, 70000]) {
      const data = pattern(size, 3);
      const first = await repo.objects.ensureObject(data);
      assert.is(first.id, hex(digestBytes(data)));
      assert.is(first.method, 'written');
      const again = await repo.objects.ensureObject(data);
      assert.is(again.method, 'already-present');
      const stored = await readFile(join(path, 'objects', first.id.slice(0, 2), first.id.slice(2)));
      assert.ok(stored.equals(data));
    }
  });
});

test('streams: commit, cat, refs, open by digest', async () => {
  await withRepo(async (repo, path) => {
    const big = pattern(100000, 1);
    const stored = await repo.objects.ensureObject(big);
    const writer = repo.streams.writer(CONTENT_TYPES.ociBlob);
    await writer.writeInline(Buffer.from('header'));
    await writer.writeExternal(Buffer.from(stored.id, 'hex'), big.length);
    await writer.writeInline(Buffer.from('trailer'));
    const id = await repo.streams.commit(await writer.finish(), 'test-stream', 'tests/one');
    assert.is(await repo.streams.has('test-stream'), id);
    assert.is(await readlink(join(path, 'streams/test-stream')), `../objects/${id.slice(0, 2)}/${id.slice(2)}`);
    assert.is(await readlink(join(path, 'streams/refs/tests/one')), '../../test-stream');
    const expected = Buffer.concat([Buffer.from('header'), big, Buffer.from('trailer')]);
    for (const name of ['test-stream', 'refs/tests/one', id]) {
      const chunks: Buffer[] = [];
      const { Writable } = await import('node:stream');
      const out = new Writable({
        write(chunk: Buffer, _enc, cb) {
          chunks.push(chunk);
          cb();
        },
      });
      const n = await repo.streams.cat(name, out);
      assert.is(n, BigInt(expected.length), name);
      assert.ok(Buffer.concat(chunks).equals(expected), name);
    }
    const refs = await repo.streams.listRefs();
    assert.equal(refs.map((r) => [r.name, r.contentId, r.id]), [['tests/one', 'test-stream', id]]);
    await repo.streams.removeRef('tests/one');
    assert.equal(await repo.streams.listRefs(), []);
    assert.is(await repo.streams.has('missing'), undefined);
  });
});

test('names that would escape the repository are refused', async () => {
  await withRepo(async (repo) => {
    for (const bad of ['..', '.', 'a/b', '', 'x\0y']) {
      try {
        await repo.streams.has(bad);
        assert.unreachable(JSON.stringify(bad));
      } catch (e) {
        assert.instance(e, UsageError, JSON.stringify(bad));
      }
    }
    for (const bad of ['../x', '/abs', 'a//b', 'a/./b', 'a/../../b', '']) {
      try {
        await repo.streams.setRef(bad, 'whatever');
        assert.unreachable(bad);
      } catch (e) {
        assert.instance(e, UsageError, bad);
      }
    }
  });
});

test('symlinks leading out of the repository are refused, not followed', async () => {
  await withRepo(async (repo, path) => {
    await mkdir(join(path, 'streams/refs'), { recursive: true });
    await symlink('/etc/passwd', join(path, 'streams/abs'));
    await symlink('../../etc/passwd', join(path, 'streams/climb'));
    await symlink('../../../../etc', join(path, 'streams/refs/out'));
    await symlink('../objects/../../x', join(path, 'streams/sneaky'));
    for (const name of ['abs', 'climb', 'refs/out', 'sneaky']) {
      try {
        await repo.streams.open(name);
        assert.unreachable(name);
      } catch (e) {
        assert.instance(e, InputError, name);
        assert.match((e as Error).message, /outside the repository|not an object path|not a stream/, name);
      }
    }
    // A directory inside the repository replaced by a symlink is not followed either.
    const data = pattern(5000);
    const { id } = await repo.objects.ensureObject(data);
    const { rename } = await import('node:fs/promises');
    await rename(join(path, 'objects', id.slice(0, 2)), join(path, 'moved'));
    await symlink('../moved', join(path, 'objects', id.slice(0, 2)));
    try {
      await repo.streams.openObject(id, false);
      assert.unreachable();
    } catch (e) {
      assert.match((e as Error).message, /is a symlink where the repository needs a directory/);
    }
  });
});

test('CLI: --repo before or after the command, init, cat, fsck', async () => {
  await withTempDir('cli', async (dir) => {
    const repoDir = join(dir, 'repo');
    const init = await cfskit(['--repo', repoDir, 'init', '--insecure']);
    assert.is(init.status, 0, init.stderr);
    assert.match(init.stdout, /Initialized composefs repository/);
    const repo = await Repository.open(repoDir, { write: true });
    const writer = repo.streams.writer(CONTENT_TYPES.ociBlob);
    await writer.writeInline(Buffer.from('hello cat'));
    await repo.streams.commit(await writer.finish(), 'greeting', 'hello');
    await repo.close();
    for (const args of [['--repo', repoDir, 'cat', 'greeting'], ['cat', 'refs/hello', '--repo', repoDir], ['cat', `--repo=${repoDir}`, 'greeting']]) {
      const r = await cfskit(args);
      assert.is(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.is(r.stdout, 'hello cat');
    }
    const missing = await cfskit(['--repo', repoDir, 'cat', 'nope']);
    assert.is(missing.status, 1);
    assert.match(missing.stderr, /streams\/nope: does not exist/);
    const ok = await cfskit(['--repo', repoDir, 'fsck', '--json']);
    assert.is(ok.status, 0, ok.stderr);
    // cfsctl's FsckReply fields, then cfskit's structured problems.
    const report = JSON.parse(ok.stdout) as Record<string, unknown>;
    assert.equal(Object.keys(report), [
      'ok', 'has_metadata', 'objects_checked', 'objects_corrupted', 'streams_checked', 'streams_corrupted',
      'images_checked', 'images_corrupted', 'broken_links', 'missing_objects', 'errors', 'problems',
    ]);
    assert.equal([report.ok, report.streams_checked, report.objects_checked], [true, 1, 1]);
    const text = await cfskit(['--repo', repoDir, 'fsck']);
    assert.is(text.stdout, 'meta.json: ok\nobjects: 1/1 ok\nstreams: 1/1 ok\nimages: 0/0 ok\nstatus: ok\n');
    const fast = await cfskit(['--repo', repoDir, 'fsck', '--metadata-only']);
    assert.is(fast.stdout, 'meta.json: ok\nobjects: 0/0 ok\nstreams: 1/1 ok\nimages: 0/0 ok\nstatus: ok\n');
    // A stream whose object is gone: both checks find it, as cfsctl words it.
    const { readlink: rl, unlink } = await import('node:fs/promises');
    const target = await rl(join(repoDir, 'streams', 'greeting'));
    await unlink(join(repoDir, 'streams', target));
    for (const extra of [[], ['--metadata-only']]) {
      const broken = await cfskit(['--repo', repoDir, 'fsck', ...extra]);
      assert.is(broken.status, 1, extra.join());
      assert.match(broken.stdout, /^broken symlinks: 2$/m);
      assert.match(broken.stdout, /^  - fsck: broken-symlink: streams\/greeting: /m);
      const json = JSON.parse((await cfskit(['--repo', repoDir, 'fsck', '--json', ...extra])).stdout) as Record<string, number>;
      assert.equal([json.ok, json.broken_links, json.streams_corrupted], [false, 2, 1]);
    }
    const both = await cfskit(['--repo', repoDir, '--user', 'fsck']);
    assert.is(both.status, 2);
  });
});

gated(test, haveRoot())('CLI: a repository that does not exist is named', async () => {
  const r = await cfskit(['--repo', '/nonexistent/repo', 'fsck']);
  assert.is(r.status, 1);
  assert.match(r.stderr, /\/nonexistent\/repo: no repository here/);
});

test.run();
