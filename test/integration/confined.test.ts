/**
 * Every create, link and rename inside a repository, and every open of a
 * layer's file in containers-storage, happens beneath a directory
 * descriptor without following symlinks (openat2 RESOLVE_BENEATH). A
 * directory swapped for a symlink to somewhere else — before a command, or
 * between a check and the use that relied on it — makes the operation fail
 * or stay inside; nothing is ever written or read out there.
 */
import { mkdir, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { InputError, IntegrityError } from '../../common/index.js';
import { DiffFiles } from '../../src/cstor/diff-files.js';
import { manifestContentId, sha256Digest, tagRef } from '../../src/oci/index.js';
import { Repository } from '../../src/repository/index.js';
import { cfskit } from '../support/cli.js';
import { ociDocuments } from '../support/oci-image-fixtures.js';
import { importLayers } from '../support/oci-import.js';
import { rejects } from '../support/rejects.js';
import { dir, file, tarBytes } from '../support/tar-writer.js';
import { withTempDir } from '../support/tmp.js';

const test = suite('confined writes and opens');

const LAYER = tarBytes([dir('usr/'), file('usr/a', 'a'.repeat(300))]);

/** Everything below `path`, as relative names. */
async function listing(path: string): Promise<string[]> {
  return (await readdir(path, { recursive: true })).sort();
}

test('a layer directory swapped for a symlink after it was checked cannot lead a read outside diff/', async () => {
  await withTempDir('confined-diff', async (tmp) => {
    const diff = join(tmp, 'diff');
    const outside = join(tmp, 'outside');
    await mkdir(join(diff, 'data'), { recursive: true });
    await mkdir(join(outside, 'data'), { recursive: true });
    for (const name of ['a', 'b']) {
      await writeFile(join(diff, 'data', name), `inside ${name}`);
      // Same size and name outside: a reader led there would not notice.
      await writeFile(join(outside, 'data', name), `ootside ${name}`.slice(1));
    }
    const files = new DiffFiles(diff);
    try {
      const first = await files.open('layer x', Buffer.from('data/a'), 8, true);
      assert.equal(first.data?.toString(), 'inside a');
      // The check of data/ is done; now it becomes a symlink out.
      await rename(join(diff, 'data'), join(diff, 'data.real'));
      await symlink(join(outside, 'data'), join(diff, 'data'));
      const err = await rejects(files.open('layer x', Buffer.from('data/b'), 8, true));
      assert.instance(err, IntegrityError);
      assert.match((err as Error).message, /data\/b leads outside the layer/);
      // A relative symlink that stays inside diff/ is what containers-storage may write: followed.
      await rm(join(diff, 'data'));
      await symlink('data.real', join(diff, 'data'));
      assert.equal((await files.open('layer x', Buffer.from('data/b'), 8, true)).data?.toString(), 'inside b');
    } finally {
      files.close();
    }
  });
});

test('objects/ swapped for a symlink while a repository is open: objects still land in the directory it opened', async () => {
  await withTempDir('confined-objects', async (tmp) => {
    const outside = join(tmp, 'outside');
    await mkdir(outside);
    const repo = await Repository.init(join(tmp, 'repo'), { insecure: true });
    try {
      await repo.objects.ensureObject(Buffer.from('before the swap'));
      await rename(join(repo.path, 'objects'), join(repo.path, 'objects.real'));
      await symlink(outside, join(repo.path, 'objects'));
      const stored = await repo.objects.ensureObject(Buffer.alloc(5000, 1));
      const writer = repo.streams.writer(1n);
      await writer.writeInline(Buffer.from('a stream'));
      await repo.objects.adoptFile(await writer.finish());
      assert.equal(await listing(outside), [], 'nothing was written through the symlink');
      assert.ok((await listing(join(repo.path, 'objects.real'))).includes(`${stored.id.slice(0, 2)}/${stored.id.slice(2)}`));
    } finally {
      await repo.close();
    }
  });
});

test('streams/refs swapped for a symlink while a repository is open: the ref is refused', async () => {
  await withTempDir('confined-refs', async (tmp) => {
    const outside = join(tmp, 'outside');
    await mkdir(outside);
    const repo = await Repository.init(join(tmp, 'repo'), { insecure: true });
    try {
      await importLayers(repo, 'image', [LAYER]);
      await rename(join(repo.path, 'streams/refs'), join(repo.path, 'streams/refs.real'));
      await symlink(outside, join(repo.path, 'streams/refs'));
      const manifest = manifestContentId(sha256Digest(ociDocuments([LAYER]).manifest));
      const err = await rejects(repo.streams.setRef(tagRef('other'), manifest));
      assert.instance(err, InputError);
      assert.match((err as Error).message, /symlink/);
      assert.equal(await listing(outside), []);
    } finally {
      await repo.close();
    }
  });
});

test('the CLI refuses to write through symlinked refs/ and objects/ directories', async () => {
  await withTempDir('confined-cli', async (tmp) => {
    const repoPath = join(tmp, 'repo');
    const repo = await Repository.init(repoPath, { insecure: true });
    const manifestDigest = sha256Digest(ociDocuments([LAYER]).manifest);
    try {
      await importLayers(repo, 'image', [LAYER]);
      await repo.images.write(Buffer.from('not an image, only a link target'));
    } finally {
      await repo.close();
    }
    const tree = join(tmp, 'tree');
    await mkdir(join(tree, 'usr'), { recursive: true });
    await writeFile(join(tree, 'usr/f'), 'x'.repeat(200));
    const cases: { dir: string; args: string[]; input?: Buffer }[] = [
      { dir: 'streams/refs', args: ['oci', 'tag', `@${manifestDigest}`, 'again'] },
      { dir: 'streams/refs/oci', args: ['oci', 'tag', `@${manifestDigest}`, 'again'] },
      { dir: 'images/refs', args: ['create-image', tree, 'named'] },
      { dir: 'objects', args: ['oci', 'import-layer', sha256Digest(tarBytes([dir('etc/')])), 'layer-ref'], input: tarBytes([dir('etc/')]) },
      { dir: 'objects', args: ['create-image', tree] },
    ];
    for (const c of cases) {
      const outside = join(tmp, `outside-${c.dir.replace(/\//g, '-')}`);
      await mkdir(outside, { recursive: true });
      const real = join(repoPath, c.dir);
      await mkdir(real, { recursive: true });
      await rename(real, `${real}.real`);
      await symlink(outside, real);
      try {
        const r = await cfskit(['--repo', repoPath, ...c.args], c.input ? { input: c.input } : {});
        assert.is(r.status, 1, `${c.dir}: ${c.args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /symlink/, r.stderr);
        assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
        assert.equal(await listing(outside), [], `${c.dir}: nothing written outside`);
      } finally {
        await rm(real);
        await rename(`${real}.real`, real);
      }
    }
  });
});

test.run();
