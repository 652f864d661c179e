/**
 * Composefs mounts on the host kernel (insecure repositories: the host has
 * no fs-verity; test/vm covers verity=require): every tree reads back
 * through the mount exactly as its source, the CLI mounts and unmounts,
 * nothing (mount, staging mount, loop device) survives an unmount or a
 * failed mount, and only images under images/ can be mounted.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { closeDigestWorkers } from '../../src/fsverity/digest.js';
import { createRepositoryImage } from '../../src/image/commit.js';
import { mountImage, unmountImage } from '../../src/mount/composefs.js';
import { Repository } from '../../src/repository/index.js';
import { cfskit, run } from '../support/cli.js';
import { composefsPrereqs, isMountpoint, leftovers, waitNoLeftovers, withComposefsMount } from '../support/composefs.js';
import { TREES } from '../support/erofs-trees.js';
import { materialize, type Entry, type TreeSpec } from '../support/fstree.js';
import { gated, haveTool } from '../support/prereq.js';
import { rejects } from '../support/rejects.js';
import { snapshot, type EntryView } from '../support/snapshot.js';

const prereqs = [...composefsPrereqs(), haveTool('getfattr'), haveTool('python3')];
const it = gated(test, ...prereqs);

/**
 * The trees without 0/0 character devices: in an overlay's lower layer
 * those are whiteouts, which V0 and V1 images escape into xattr whiteouts
 * and V2 images leave as they are, so neither reads back as the source's
 * character device; the last test shows what becomes of them.
 */
const isWhiteout = (e: Entry): boolean => e.kind === 'chardev' && e.major === 0 && e.minor === 0;
const MOUNT_TREES: TreeSpec[] = TREES.map((spec) => {
  const whiteouts = new Set(spec.entries.filter(isWhiteout).map((e) => String(e.path)));
  const entries = spec.entries.filter((e) => !isWhiteout(e) && !(e.kind === 'link' && whiteouts.has(String(e.target))));
  return { ...spec, entries };
});

let base = '';
let repoPath = '';
let repo: Repository | undefined;
const treeDir = (name: string): string => join(base, 'trees', name);

test.before(async () => {
  if (prereqs.some((p) => p !== undefined)) return;
  base = await mkdtemp(join(tmpdir(), 'cfskit-composefs-mount-'));
  for (const spec of MOUNT_TREES) {
    await mkdir(treeDir(spec.name), { recursive: true });
    await materialize(treeDir(spec.name), spec);
  }
  repoPath = join(base, 'repo');
  repo = await Repository.init(repoPath, { insecure: true });
  for (const spec of MOUNT_TREES) await createRepositoryImage(repo, treeDir(spec.name), { name: spec.name, propagateUsrToRoot: false });
});

test.after(async () => {
  await repo?.close();
  if (base) await rm(base, { recursive: true, force: true });
  await closeDigestWorkers();
});

const theRepo = (): Repository => {
  if (!repo) throw new Error('no repository (before hook did not run)');
  return repo;
};

/** Asserts `promise` rejects with a message matching `pattern`. */
async function refused(promise: Promise<unknown>, pattern: RegExp, label: string): Promise<void> {
  const err = await rejects(promise);
  assert.match(String(err), pattern, `${label}: ${String(err)}`);
}

const SMALL = 1 << 20;

async function sha256(path: Buffer): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every entry of `root` as the kernel shows it, large files by hash. */
async function view(root: string): Promise<Map<string, EntryView & { sha256?: string }>> {
  const entries: Map<string, EntryView & { sha256?: string }> = await snapshot(root, (_, size) => size <= SMALL);
  for (const [rel, entry] of entries) {
    if (entry.type === 0o100000 && entry.size > SMALL) entry.sha256 = await sha256(Buffer.concat([Buffer.from(`${root}/`), Buffer.from(rel, 'latin1')]));
  }
  return entries;
}

it('every tree reads back through its composefs mount exactly as the source: bytes, modes, owners, xattrs, links', async () => {
  for (const spec of MOUNT_TREES) {
    const source = await view(treeDir(spec.name));
    const mounted = await withComposefsMount(theRepo(), `refs/${spec.name}`, (dir) => view(dir));
    assert.equal([...mounted.keys()], [...source.keys()], `${spec.name}: names`);
    for (const [rel, entry] of source) assert.equal(mounted.get(rel), entry, `${spec.name}: /${rel}`);
  }
  assert.equal(await waitNoLeftovers(repoPath), []);
});

it('the CLI mounts by digest and unmounts, releasing the loop device; unmount refuses what it did not mount', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfskit-cli-mount-'));
  try {
    const id = (await theRepo().images.resolve('refs/types')).id;
    const mounted = await cfskit(['--repo', repoPath, 'mount', '--json', id, dir]);
    assert.is(mounted.status, 0, mounted.stderr);
    const info = JSON.parse(mounted.stdout) as { loopDevice: string; source: string; verity: boolean };
    assert.is(info.source, `composefs:${id}`);
    assert.is(info.verity, false);
    assert.ok(isMountpoint(dir));
    const losetup = await run('losetup', ['--list', '--noheadings', '--output', 'NAME,RO,AUTOCLEAR,BACK-FILE', info.loopDevice]);
    assert.match(losetup.stdout, new RegExp(`${info.loopDevice}\\s+1\\s+1\\s+${repoPath}/objects/`));
    const unmounted = await cfskit(['unmount', '--json', dir]);
    assert.is(unmounted.status, 0, unmounted.stderr);
    assert.equal((JSON.parse(unmounted.stdout) as { loopDevicesReleased: string[] }).loopDevicesReleased, [info.loopDevice]);
    assert.ok(!isMountpoint(dir));
    assert.equal(await waitNoLeftovers(repoPath), []);
    const again = await cfskit(['unmount', dir]);
    assert.is(again.status, 1);
    assert.match(again.stderr, 'is not a composefs mount');
    // Something else mounted there is left alone.
    await run('mount', ['-t', 'tmpfs', 'tmpfs', dir]);
    try {
      const other = await cfskit(['unmount', dir]);
      assert.is(other.status, 1);
      assert.match(other.stderr, 'is not a composefs mount (tmpfs from tmpfs is mounted there)');
    } finally {
      await run('umount', [dir]);
    }
  } finally {
    if (isMountpoint(dir)) await run('umount', ['--lazy', dir]);
    await rm(dir, { recursive: true, force: true });
  }
});

it('only images under images/ mount: objects, streams, hostile names and missing images are refused, leaving nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfskit-refuse-'));
  try {
    const r = theRepo();
    const { id } = await r.images.resolve('refs/types');
    const anObject = (await r.objects.ensureObject(Buffer.from('not an image, but an object'.repeat(10)))).id;
    const cases: [string, RegExp][] = [
      [anObject, /images\/[0-9a-f]+: does not exist/],
      [`objects/${id.slice(0, 2)}/${id.slice(2)}`, /must be a sha512 digest or refs\/<name>/],
      ['refs/../../meta.json', /component/],
      ['refs//types', /component|relative/],
      ['/etc/passwd', /must be a sha512 digest/],
      ['refs/missing', /does not exist|no such/],
      [id.toUpperCase(), /must be a sha512 digest/],
    ];
    for (const [name, message] of cases) {
      await refused(mountImage(r, name, dir), message, name);
      assert.ok(!isMountpoint(dir), name);
    }
    // A ref that points out of images/ is not followed.
    await symlink('../../objects', join(repoPath, 'images/refs/escape'));
    try {
      await refused(mountImage(r, 'refs/escape', dir), /not a stream, image or object|points/, 'refs/escape');
    } finally {
      await rm(join(repoPath, 'images/refs/escape'));
    }
    // Not a directory as mount point.
    await refused(mountImage(r, id, join(repoPath, 'meta.json')), /not a directory/, 'file mount point');
    assert.equal(await waitNoLeftovers(repoPath), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('a failure after the loop device and mounts exist unwinds all of them', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfskit-unwind-'));
  try {
    const r = theRepo();
    // Not EROFS, but a valid image entry by digest: the kernel refuses it
    // once the loop device is attached.
    const bogus = await r.images.write(Buffer.alloc(8192, 0x5a), 'bogus');
    await refused(mountImage(r, 'refs/bogus', dir), /erofs/, 'non-EROFS image');
    assert.equal(await waitNoLeftovers(repoPath), [], 'after erofs refused the image');
    // objects/ replaced by a symlink: refused before anything is attached.
    await rename(join(repoPath, 'objects'), join(repoPath, 'objects.real'));
    await symlink('objects.real', join(repoPath, 'objects'));
    try {
      await refused(mountImage(r, 'refs/types', dir), /objects/, 'objects/ symlink');
    } finally {
      await rm(join(repoPath, 'objects'));
      await rename(join(repoPath, 'objects.real'), join(repoPath, 'objects'));
    }
    // verity=require on an insecure repository's objects: the overlay
    // mounts, but a file without fs-verity cannot be opened.
    await withComposefsMount(r, 'refs/sizes', async (mnt) => {
      const external = await run('cat', [join(mnt, 'f00065536')]);
      assert.is(external.status, 1);
      assert.match(external.stderr, 'Input/output error');
      assert.is((await run('cat', [join(mnt, 'f00000064')])).status, 0, 'inline content needs no object');
    }, { requireVerity: true }).catch((err: unknown) => {
      // Kernels before 6.6 refuse the option itself: also no leftovers.
      assert.match(String(err), /verity/);
    });
    assert.equal(await waitNoLeftovers(repoPath), [], 'after verity=require');
    await rm(join(repoPath, 'images/refs/bogus'));
    await rm(join(repoPath, 'images', bogus.id));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('the same image mounted twice: two loop devices; unmounting one keeps the other working', async () => {
  const r = theRepo();
  await withComposefsMount(r, 'refs/types', async (first, a) => {
    await withComposefsMount(r, 'refs/types', async (second, b) => {
      assert.is.not(a.loopDevice, b.loopDevice);
      assert.is((await run('cat', [join(second, 'file-inline')])).stdout, 'hello\n');
    });
    assert.is((await run('cat', [join(first, 'file-inline')])).stdout, 'hello\n');
  });
  assert.equal(await waitNoLeftovers(repoPath), []);
});

gated(test, ...prereqs, haveTool('setpriv', ['--version']))('not root: a clear error, before the repository is even opened', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cfskit-nonroot-'));
  try {
    const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, join(process.cwd(), 'bin/cfskit')];
    const m = await run('setpriv', [...asNobody, '--repo', repoPath, 'mount', 'refs/types', dir]);
    assert.is(m.status, 1);
    assert.match(m.stderr, 'mounting refs/types needs root (CAP_SYS_ADMIN)');
    const u = await run('setpriv', [...asNobody, 'unmount', dir]);
    assert.is(u.status, 1);
    assert.match(u.stderr, 'needs root');
    await refused(unmountImage(join(dir, 'missing')), /missing/, 'missing mount point');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.equal(await leftovers(repoPath), []);
});

it('a 0/0 character device: V2 leaves it a whiteout to overlayfs (never found, though a subdirectory\'s readdir lists it); V0 and V1 escape it into an xattr whiteout', async () => {
  const dir = join(base, 'whiteout-tree');
  await mkdir(dir);
  await materialize(dir, {
    name: 'whiteout',
    about: 'whiteouts at the root and in a subdirectory',
    entries: [
      { path: '', kind: 'dir' },
      { path: 'gone', kind: 'chardev', major: 0, minor: 0 },
      { path: 'sub', kind: 'dir' },
      { path: 'sub/file', kind: 'data', data: 'x' },
      { path: 'sub/gone', kind: 'chardev', major: 0, minor: 0 },
    ],
  });
  for (const version of [0, 1, 2] as const) {
    const r = await Repository.init(join(base, `whiteout-repo-v${version}`), { insecure: true, erofsVersion: version });
    try {
      await createRepositoryImage(r, dir, { name: 'whiteout', propagateUsrToRoot: false });
      await withComposefsMount(r, 'refs/whiteout', async (mnt) => {
        const what = `V${version}`;
        if (version === 2) {
          // The root is always a merged directory, which drops whiteouts; a
          // directory from the one metadata layer is read as it is.
          assert.equal((await readdir(mnt)).sort(), ['sub'], what);
          assert.equal((await readdir(join(mnt, 'sub'))).sort(), ['file', 'gone'], what);
          for (const path of ['gone', 'sub/gone']) {
            assert.is(((await lstat(join(mnt, path)).catch((e: unknown) => e)) as NodeJS.ErrnoException).code, 'ENOENT', `${what} ${path}`);
          }
          return;
        }
        // As C mkcomposefs: an empty regular file whose escaped xattrs read
        // back as overlayfs's xattr whiteout, so the mount as a lower layer
        // of another overlay whites the name out again.
        assert.equal((await readdir(mnt)).sort(), ['gone', 'sub'], what);
        assert.equal((await readdir(join(mnt, 'sub'))).sort(), ['file', 'gone'], what);
        for (const path of ['gone', 'sub/gone']) {
          const st = await lstat(join(mnt, path));
          assert.ok(st.isFile() && st.size === 0, `${what} ${path}: an empty regular file`);
          const xattrs = (await run('getfattr', ['-h', '-d', '-m', '-', '-e', 'hex', join(mnt, path)])).stdout;
          assert.match(xattrs, /^trusted\.overlay\.whiteout=0x$/m, `${what} ${path}`);
          assert.match(xattrs, /^user\.overlay\.whiteout=0x$/m, `${what} ${path}`);
        }
      });
    } finally {
      await r.close();
    }
  }
});

test.run();
