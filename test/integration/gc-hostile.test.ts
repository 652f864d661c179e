/**
 * Garbage collection of damaged or hostile repositories: a root it cannot
 * follow (a dangling ref, a ref out of the repository, a ref to a missing
 * or corrupt stream, a symlinked directory) stops it with an error naming
 * the problem and nothing removed; damage that cannot cost anything (a
 * named ref to an object already gone) is reported and the rest collected.
 */
import { lstat, mkdir, readdir, readlink, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gc } from '../../src/gc/index.js';
import { Repository } from '../../src/repository/index.js';
import { cfskit } from '../support/cli.js';
import { objectRel } from '../support/fsck.js';
import { importModelImage, makeLayer } from '../support/gc-model.js';
import { pattern } from '../support/pattern.js';
import { withTempDir } from '../support/tmp.js';

/** Every path below `root`, symlinks listed but never followed. */
async function listAll(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(root, rel), { withFileTypes: true })) {
    const child = rel ? `${rel}/${entry.name}` : entry.name;
    out.push(child);
    if (entry.isDirectory()) out.push(...(await listAll(root, child)));
  }
  return out.sort();
}

/** A repository with one tagged image, one untagged (garbage), and loose objects. */
async function fixture(path: string): Promise<{ manifestDigest: string; garbage: string }> {
  const repo = await Repository.init(path, { insecure: true });
  try {
    const base = makeLayer('base', 6, 1, true);
    const kept = await importModelImage(repo, 'kept', [base, makeLayer('k', 4, 2)], 'localhost/kept:1');
    await importModelImage(repo, 'gone', [base, makeLayer('g', 4, 3)], undefined);
    const garbage = (await repo.objects.ensureObject(pattern(5000, 9))).id;
    return { manifestDigest: kept.manifestDigest, garbage };
  } finally {
    await repo.close();
  }
}

const TAG = 'streams/refs/oci/localhost%2Fkept:1';

interface Damage {
  readonly name: string;
  readonly apply: (path: string, f: { manifestDigest: string }) => Promise<void>;
  readonly message: RegExp;
}

const DAMAGES: Damage[] = [
  {
    name: 'a dangling tag',
    apply: async (path) => symlink('../../oci-manifest-sha256:' + '0'.repeat(64), join(path, 'streams/refs/oci/dangling')),
    message: /streams\/refs\/oci\/dangling: is dangling.*removes nothing.*cfskit oci untag/,
  },
  {
    name: 'a ref to an absolute path',
    apply: async (path) => symlink('/etc/passwd', join(path, 'streams/refs/escape')),
    message: /streams\/refs\/escape: cannot be followed.*absolute path "\/etc\/passwd" outside the repository/,
  },
  {
    name: 'a ref to the root directory (never walked)',
    apply: async (path) => symlink('/', join(path, 'streams/refs/root')),
    message: /streams\/refs\/root: cannot be followed.*outside the repository/,
  },
  {
    name: 'a ref climbing out of the repository',
    apply: async (path) => symlink('../../../../../../../tmp', join(path, 'streams/refs/climb')),
    message: /streams\/refs\/climb: cannot be followed.*outside the repository/,
  },
  {
    name: 'an image ref to nothing',
    apply: async (path) => {
      await mkdir(join(path, 'images/refs'), { recursive: true });
      await symlink(`../${'a'.repeat(128)}`, join(path, 'images/refs/gone'));
    },
    message: /images\/refs\/gone: is dangling/,
  },
  {
    name: 'a tag whose manifest object is missing',
    apply: async (path, f) => {
      const link = join(path, `streams/oci-manifest-${f.manifestDigest}`);
      await unlink(join(path, 'streams', await readlink(link)));
    },
    message: /stream objects\/.* \(streams\/refs\/oci\/localhost%2Fkept:1\): cannot be read, so what it keeps is unknown and nothing is removed/,
  },
  {
    name: 'a tag whose manifest object is not a splitstream',
    apply: async (path, f) => {
      const target = join(path, 'streams', await readlink(join(path, `streams/oci-manifest-${f.manifestDigest}`)));
      await rm(target);
      await writeFile(target, 'this is not a splitstream');
    },
    message: /cannot be read, so what it keeps is unknown/,
  },
  {
    name: 'streams/ replaced by a symlink to elsewhere',
    apply: async (path) => {
      await rename(join(path, 'streams'), join(path, 'streams-real'));
      await symlink('streams-real', join(path, 'streams'));
    },
    message: /streams: is a symlink where the repository needs a directory/,
  },
];

for (const damage of DAMAGES) {
  test(`${damage.name}: a clear error, nothing removed`, () =>
    withTempDir('gc-hostile', async (dir) => {
      const path = join(dir, 'repo');
      const f = await fixture(path);
      await damage.apply(path, f);
      const before = await listAll(path);
      const r = await cfskit(['--repo', path, 'gc']);
      assert.is(r.status, 1, r.stdout + r.stderr);
      assert.match(r.stderr, damage.message);
      assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
      assert.equal(await listAll(path), before, 'nothing removed');
      const dry = await cfskit(['--repo', path, 'gc', '--dry-run']);
      assert.is(dry.status, 1, 'the dry run refuses too');
    }));
}

test('fsck and oci images do not walk into a ref that is a symlinked directory', () =>
  withTempDir('gc-hostile', async (dir) => {
    const path = join(dir, 'repo');
    await fixture(path);
    await symlink('/', join(path, 'streams/refs/root'));
    await symlink('/usr', join(path, 'streams/refs/oci/usr'));
    const r = await cfskit(['--repo', path, 'fsck', '--json']);
    const report = JSON.parse(r.stdout) as { problems: { kind: string; path: string }[] };
    assert.equal(report.problems.map((p) => `${p.kind} ${p.path}`).sort(), ['broken-symlink streams/refs/oci/usr', 'broken-symlink streams/refs/root']);
    const images = await cfskit(['--repo', path, 'oci', 'images']);
    assert.is(images.status, 1);
    assert.match(images.stderr, /streams\/refs\/oci\/usr: points to an absolute path "\/usr" outside the repository/);
  }));

test('a named ref to an object already gone: reported, and the rest collected', () =>
  withTempDir('gc-hostile', async (dir) => {
    const path = join(dir, 'repo');
    const f = await fixture(path);
    const repo = await Repository.open(path, { write: true });
    try {
      const missing = 'f'.repeat(128);
      const writer = repo.streams.writer(0n);
      writer.addNamedRef('layer-that-is-gone', Buffer.from(missing, 'hex'));
      await writer.writeInline(Buffer.from('x'));
      await repo.streams.commit(await writer.finish(), 'broken-parent', 'broken');
      const result = await gc(repo);
      assert.equal(result.missing.map((m) => m.id), [missing]);
      assert.match(result.missing[0]?.referencedBy ?? '', /ref layer-that-is-gone/);
      assert.ok(result.objectsRemoved > 0);
      assert.not.ok(await lstat(join(path, objectRel(f.garbage))).then(() => true, () => false), 'garbage collected');
      assert.ok(await lstat(join(path, TAG)).then(() => true, () => false), 'the tag stays');
    } finally {
      await repo.close();
    }
  }));

test.run();
