/**
 * The portable write path, through the CLI as a user without the addon
 * runs it (CFSKIT_DISABLE_ADDON=1): `init --insecure`, `oci import-layer`
 * and `create-image` write a repository byte for byte equal to the one the
 * addon writes (same objects, streams, images, links, meta.json), with
 * the image IDs cfsctl computes; fsck is clean, and cfsctl's own fsck too
 * when $CFSCTL names it. Without the addon a directory's xattrs are not
 * read (said once), so the byte-for-byte comparison stores the tree without
 * them, and the tree with them must give that same image. A secure
 * repository is refused with a message saying why and what to do instead.
 */
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TREES } from '../support/erofs-trees.js';
import { treeId } from '../support/erofs-vectors.js';
import { materialize } from '../support/fstree.js';
import { cfskit, run } from '../support/cli.js';
import { gated, haveRoot, haveTool } from '../support/prereq.js';
import { dir, file, hardlink, symlink, tarBytes } from '../support/tar-writer.js';
import { pattern } from '../support/pattern.js';
import { treeContents } from '../support/tree-contents.js';

const PORTABLE = { ...process.env, CFSKIT_DISABLE_ADDON: '1' };
const TREE = 'container';
const it = gated(test, haveRoot(), haveTool('getfattr'));

let base = '';

test.before(async () => {
  base = await mkdtemp(join(tmpdir(), 'cfskit-portable-'));
  const spec = TREES.find((t) => t.name === TREE);
  if (!spec) throw new Error(`no test tree ${TREE}`);
  await mkdir(join(base, 'tree'));
  await materialize(join(base, 'tree'), { ...spec, entries: spec.entries.map(({ xattrs: _dropped, ...entry }) => entry) });
  await mkdir(join(base, 'tree-xattrs'));
  await materialize(join(base, 'tree-xattrs'), spec);
  const layer = tarBytes([
    dir('usr/'),
    dir('usr/bin/'),
    file('usr/bin/tool', pattern(200_000, 5), { mode: 0o755 }),
    file('usr/small', 'sixty-four bytes or less stay inline in the stream'),
    file('usr/mid', pattern(4096, 9)),
    symlink('usr/link', 'bin/tool'),
    hardlink('usr/again', 'usr/mid'),
  ]);
  await writeFile(join(base, 'layer.tar'), layer);
});

test.after(async () => {
  if (base) await rm(base, { recursive: true, force: true });
});


async function ok(args: string[], env: NodeJS.ProcessEnv, input?: Buffer): Promise<string> {
  const r = await cfskit(args, { env, ...(input ? { input } : {}) });
  assert.is(r.status, 0, `cfskit ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The same writes into `repo`, with or without the addon; returns the image ID create-image printed. */
async function writeRepository(repo: string, env: NodeJS.ProcessEnv): Promise<string> {
  await ok(['--repo', repo, 'init', '--insecure'], env);
  const layer = await readFile(join(base, 'layer.tar'));
  const diffId = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
  await ok(['--repo', repo, 'oci', 'import-layer', diffId, 'layer'], env, layer);
  const id = (await ok(['--repo', repo, 'create-image', join(base, 'tree'), 'tree'], env)).trim();
  const fsck = JSON.parse(await ok(['--repo', repo, 'fsck', '--json'], env)) as { ok: boolean; streams_checked: number; images_checked: number };
  assert.equal([fsck.ok, fsck.streams_checked, fsck.images_checked], [true, 1, 1], `fsck of ${repo}`);
  return id;
}

it('init --insecure, oci import-layer, create-image without the addon: the repository the addon writes, fsck clean', async () => {
  const native = join(base, 'native');
  const portable = join(base, 'portable');
  const nativeId = await writeRepository(native, process.env);
  const portableId = await writeRepository(portable, PORTABLE);
  assert.is(portableId, nativeId);
  const written = await treeContents(portable);
  assert.equal(written, await treeContents(native), 'same objects, streams, images, refs and meta.json');
  assert.ok(written.length > 8, `a repository of ${written.length} files`);
  assert.not.ok(written.some(([rel]) => rel.includes('.tmp-')), 'no temporary file left');
  // The tree with its xattrs: the addon reads them (cfsctl's ID; a new
  // repository makes V1 images); without it the image is the tree without them.
  const full = await cfskit(['--repo', native, 'create-image', join(base, 'tree-xattrs')]);
  assert.is(full.stdout.trim(), `sha512:${treeId(TREE, 'container', 'sha512', 1)}`, 'the image ID cfsctl computes for the tree');
  const none = await cfskit(['--repo', portable, 'create-image', join(base, 'tree-xattrs')], { env: PORTABLE });
  assert.is(none.stdout.trim(), portableId, 'xattrs are not read without the addon');
  assert.is(none.stderr.match(/extended attributes are not read without the system-call addon/g)?.length, 1, none.stderr);
  const cfsctl = process.env.CFSCTL;
  if (cfsctl) {
    const r = await run(cfsctl, ['--repo', portable, 'fsck']);
    assert.is(r.status, 0, `cfsctl fsck: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /status: ok/);
  } else {
    console.log('  note: $CFSCTL is not set; cfsctl fsck of the portable repository not run');
  }
});

it('without the addon a repository that needs fs-verity is refused, saying why and what to do', async () => {
  const secure = await cfskit(['--repo', join(base, 'secure'), 'init'], { env: PORTABLE });
  assert.is(secure.status, 1);
  assert.match(secure.stderr, /a repository that requires fs-verity needs cfskit's native host bindings \(disabled by CFSKIT_DISABLE_ADDON=1\); use --insecure/);
  assert.not.match(secure.stderr, /\n\s+at /, 'no stack trace');
});

it('without the addon garbage collection, which needs the exclusive lock, is refused and removes nothing', async () => {
  const repo = join(base, 'portable');
  const before = await treeContents(repo);
  const r = await cfskit(['--repo', repo, 'gc'], { env: PORTABLE });
  assert.is(r.status, 1);
  assert.match(r.stderr, /garbage collection needs the Linux host bindings \(for the repository lock\)/);
  assert.equal(await treeContents(repo), before);
});

gated(test, haveRoot(), haveTool('chattr', ['-V']))('a meta.json that cannot be opened for writing (as fs-verity makes it) is taken for a secure repository and not written', async () => {
  const repo = join(base, 'probe');
  await ok(['--repo', repo, 'init', '--insecure'], process.env);
  // The kernel refuses a write open of a verity file with EPERM; an
  // immutable file gets the same answer, on a kernel without fs-verity.
  const meta = join(repo, 'meta.json');
  const set = spawnSync('chattr', ['+i', meta]);
  if (set.status !== 0) throw new Error(`chattr +i: ${String(set.stderr)}`);
  try {
    const layer = await readFile(join(base, 'layer.tar'));
    const diffId = `sha256:${createHash('sha256').update(layer).digest('hex')}`;
    const r = await cfskit(['--repo', repo, 'oci', 'import-layer', diffId], { env: PORTABLE, input: layer });
    assert.is(r.status, 1);
    assert.match(r.stderr, /requires fs-verity on every object, which needs cfskit's native host bindings .*only insecure repositories can be written/);
    assert.equal((await readdir(join(repo, 'objects'))).length, 0, 'nothing was written');
  } finally {
    spawnSync('chattr', ['-i', meta]);
  }
});

test.run();
