/**
 * OCI images pulled from real containers-storage get the composefs image
 * composefs-rs makes (test/vectors/oci): the fixture images (deterministic
 * OCI layouts copied by skopeo, `podman build --timestamp` with RUN steps,
 * the hard-content images) are pulled with the CLI; image IDs, config,
 * manifest and layer streams, dumpfiles, layer listings and the bootable
 * variant must be cfsctl's. A second pull changes nothing. fsck.erofs
 * accepts every image, and the kernel, loop-mounting it, shows the tree
 * the dumpfile describes: whiteouts applied, opaque directories emptied,
 * hard links sharing an inode.
 */
import { mkdtemp, open, readdir, readFile, readlink, rm, rmdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { closeDigestWorkers, digestFile } from '../../src/fsverity/digest.js';
import { cfskit, check } from '../support/cli.js';
import { composefsPrereqs, isMountpoint, waitNoLeftovers } from '../support/composefs.js';
import { buildHardContentImages } from '../support/cstor-fixtures.js';
import { parseDumpLines, type DumpLine } from '../support/dump-lines.js';
import { withErofsMount } from '../support/mount.js';
import { buildOciFixtures, busyboxDigest } from '../support/oci-image-fixtures.js';
import { dumpMatches, idKey, loadOciVectors, ociVectorFile, type OciVector } from '../support/oci-vectors.js';
import { OCI_LAYER_MEMBERS } from '../support/oci-layers.js';
import { createPodmanStore, havePodman, type FixtureImage, type PodmanStore } from '../support/podman.js';
import { gated, haveTool } from '../support/prereq.js';
import { snapshot, type EntryView } from '../support/snapshot.js';
import type { TarMember } from '../support/tar-writer.js';

const VECTORS = loadOciVectors();
/** Fixtures holding the host's busybox: golden only with the same busybox. */
const WITH_BUSYBOX = new Set(['busybox', 'built', 'cstor-base', 'cstor-deleted', 'cstor-sibling']);
const sameBusybox = (): string | undefined =>
  haveTool('busybox') ?? (busyboxDigest() === VECTORS?.busybox ? undefined : 'the host busybox is not the one test/vectors/oci was made with');

interface Context {
  store?: PodmanStore;
  images?: Map<string, FixtureImage>;
  dir?: string;
}

const test = suite<Context>('oci-image', {});
const prereqs = [havePodman(), haveTool('skopeo'), haveTool('tar-split')];
const it = gated(test, ...prereqs);
const composefs = gated(test, ...prereqs, ...composefsPrereqs());
const mounting = gated(test, ...prereqs, haveTool('fsck.erofs', ['-V']), haveTool('mount', ['-V']), haveTool('losetup', ['-V']));

test.before(async (ctx) => {
  if (prereqs.some((p) => p !== undefined)) return;
  ctx.dir = await mkdtemp(join(tmpdir(), 'cfskit-oci-'));
  ctx.store = await createPodmanStore();
  try {
    const oci = await buildOciFixtures(ctx.store);
    const hard = await buildHardContentImages(ctx.store);
    const all = new Map<string, FixtureImage>([...Object.entries(oci), ...Object.entries(hard).map(([n, i]) => [`cstor-${n}`, i] as const)]);
    if (sameBusybox() !== undefined) {
      console.log(`  skip: ${[...WITH_BUSYBOX].join(', ')} (${sameBusybox()})`);
      for (const name of WITH_BUSYBOX) all.delete(name);
    }
    ctx.images = all;
  } catch (err) {
    await ctx.store.destroy();
    ctx.store = undefined;
    throw err;
  }
});

test.after(async (ctx) => {
  await closeDigestWorkers();
  await ctx.store?.destroy();
  if (ctx.dir) await rm(ctx.dir, { recursive: true, force: true });
});

/** The golden IDs of the default (V1) repository and xattr mode. */
const imageIdOf = (v: OciVector): string => v.ids[idKey(1)] ?? '';
const bootIdOf = (v: OciVector): string | undefined => v.bootIds?.[idKey(1)];

interface Fixture {
  readonly name: string;
  readonly image: FixtureImage;
  readonly vector: OciVector;
  readonly ref: string;
}

function fixtures(ctx: Context): { store: PodmanStore; dir: string; list: Fixture[] } {
  if (!ctx.store || !ctx.images || !ctx.dir || !VECTORS) throw new Error('fixtures were not built (or test/vectors/oci is missing)');
  const list = [...ctx.images].map(([name, image]) => {
    const vector = VECTORS.images[name];
    if (!vector) throw new Error(`no golden values for ${name}`);
    return { name, image, vector, ref: `containers-storage:${image.name}` };
  });
  return { store: ctx.store, dir: ctx.dir, list };
}

async function cli(repo: string, args: readonly string[]): Promise<string> {
  const r = await cfskit(['--repo', repo, ...args]);
  assert.is(r.status, 0, `cfskit ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function newRepo(dir: string, name: string): Promise<string> {
  const repo = join(dir, name);
  await cli(repo, ['init', '--insecure']);
  return repo;
}

interface PullJson {
  manifestVerity: string;
  configVerity: string;
  composefsImage: string | null;
  bootImage?: string;
  stats: { layersAlreadyPresent: number; objects?: Record<string, number> };
}

async function pull(repo: string, store: PodmanStore, f: Fixture, extra: readonly string[] = []): Promise<PullJson> {
  return JSON.parse(await cli(repo, ['oci', 'pull', '--json', '--progress', 'none', '--storage-root', store.root, ...extra, f.ref])) as PullJson;
}

const objectOf = async (link: string): Promise<string> => (await readlink(link)).replace(/^.*objects\/(..)\/(.*)$/, '$1$2');

async function listTree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

let mainRepo = '';

it('the fixture images have the goldens` layers', (ctx) => {
  for (const f of fixtures(ctx).list) assert.equal(f.image.layers.map((l) => l.diffId), f.vector.diffIds, f.name);
});

it('oci pull makes the composefs image and the streams cfsctl makes', async (ctx) => {
  const { store, dir, list } = fixtures(ctx);
  mainRepo = await newRepo(dir, 'main');
  for (const f of list) {
    const result = await pull(mainRepo, store, f);
    assert.is(result.composefsImage, imageIdOf(f.vector), `${f.name} composefs image`);
    if (f.vector.layerStreamsVia === 'pull') {
      const layerStreams = await Promise.all(f.vector.diffIds.map((d) => objectOf(join(mainRepo, 'streams', `oci-layer-${d}`))));
      assert.equal(layerStreams, f.vector.layerStreams, `${f.name} layer streams`);
    }
    if (f.vector.fixedDocuments && f.vector.streams) {
      assert.is(result.configVerity, f.vector.streams.v1.configStream, `${f.name} config stream`);
      assert.is(result.manifestVerity, f.vector.streams.v1.manifestStream, `${f.name} manifest stream`);
      assert.is(await objectOf(join(mainRepo, 'streams', `oci-config-${f.vector.configDigest}`)), result.configVerity);
    }
    const inspect = JSON.parse(await cli(mainRepo, ['oci', 'inspect', f.ref])) as { composefs_erofs?: string };
    assert.is(inspect.composefs_erofs, imageIdOf(f.vector), `${f.name} inspect`);
  }
});

it('pulling again changes nothing', async (ctx) => {
  const { store, list } = fixtures(ctx);
  const before = [await listTree(join(mainRepo, 'objects')), await listTree(join(mainRepo, 'streams')), await listTree(join(mainRepo, 'images'))];
  for (const f of list) {
    const config = await objectOf(join(mainRepo, 'streams', `oci-config-sha256:${f.image.id}`));
    const result = await pull(mainRepo, store, f);
    assert.is(result.stats.layersAlreadyPresent, f.vector.diffIds.length, f.name);
    assert.is(result.configVerity, config, `${f.name} config stream kept`);
  }
  const after = [await listTree(join(mainRepo, 'objects')), await listTree(join(mainRepo, 'streams')), await listTree(join(mainRepo, 'images'))];
  assert.equal(after, before);
});

it('oci compute-id and oci dump equal cfsctl`s, with and without --bootable', async (ctx) => {
  for (const f of fixtures(ctx).list) {
    assert.is(await cli(mainRepo, ['oci', 'compute-id', f.ref]), `${imageIdOf(f.vector)}\n`, f.name);
    const dump = await cfskit(['--repo', mainRepo, 'oci', 'dump', f.ref]);
    assert.ok(f.vector.dump && dumpMatches(f.vector.dump, dump.stdoutBytes), `${f.name} dumpfile`);
    if (bootIdOf(f.vector) === undefined) {
      const r = await cfskit(['--repo', mainRepo, 'oci', 'compute-id', '--bootable', f.ref]);
      assert.is(r.status, 1, f.name);
      assert.match(r.stderr, '"boot" does not exist');
      continue;
    }
    assert.is(await cli(mainRepo, ['oci', 'compute-id', '--bootable', f.ref]), `${bootIdOf(f.vector)}\n`, `${f.name} bootable`);
    const bootDump = await cfskit(['--repo', mainRepo, 'oci', 'dump', '--bootable', f.ref]);
    assert.ok(f.vector.bootDump && dumpMatches(f.vector.bootDump, bootDump.stdoutBytes), `${f.name} boot dumpfile`);
  }
  // By manifest digest too.
  const single = fixtures(ctx).list.find((f) => f.name === 'single');
  if (single) assert.is(await cli(mainRepo, ['oci', 'compute-id', `@${single.vector.manifestDigest}`]), `${imageIdOf(single.vector)}\n`);
});

it('oci pull --bootable adds composefs.image.boot.v1; the streams are cfsctl`s', async (ctx) => {
  const { store, dir, list } = fixtures(ctx);
  const repo = await newRepo(dir, 'boot');
  for (const f of list.filter((x) => bootIdOf(x.vector) !== undefined)) {
    const result = await pull(repo, store, f, ['--bootable']);
    assert.is(result.composefsImage, imageIdOf(f.vector), f.name);
    assert.is(result.bootImage, bootIdOf(f.vector), `${f.name} boot image`);
    if (f.vector.bootStreams) {
      assert.is(result.configVerity, f.vector.bootStreams.v1.configStream, `${f.name} config stream`);
      assert.is(result.manifestVerity, f.vector.bootStreams.v1.manifestStream, `${f.name} manifest stream`);
    }
    const inspect = JSON.parse(await cli(repo, ['oci', 'inspect', f.ref])) as Record<string, string>;
    assert.equal([inspect.composefs_erofs, inspect.composefs_boot_erofs], [imageIdOf(f.vector), bootIdOf(f.vector)]);
  }
});

it('a V2 repository: pull and pull --bootable make cfsctl`s V2 images and streams', async (ctx) => {
  const { store, dir, list } = fixtures(ctx);
  const repo = join(dir, 'v2');
  await cli(repo, ['--erofs-version', '2', 'init', '--insecure']);
  assert.match(await readFile(join(repo, 'meta.json'), 'utf8'), /"erofs_formats": \{\n    "default": 2\n  \}/);
  for (const f of list.filter((x) => x.vector.streams !== undefined && x.vector.fixedDocuments)) {
    const plain = await pull(repo, store, f);
    assert.is(plain.composefsImage, f.vector.ids[idKey(2)], f.name);
    assert.equal([plain.configVerity, plain.manifestVerity], [f.vector.streams?.v2.configStream, f.vector.streams?.v2.manifestStream], `${f.name} V2 streams`);
    if (f.vector.bootIds === undefined) continue;
    const boot = await pull(repo, store, f, ['--bootable']);
    assert.is(boot.bootImage, f.vector.bootIds[idKey(2)], `${f.name} V2 boot image`);
    assert.equal([boot.configVerity, boot.manifestVerity], [f.vector.bootStreams?.v2.configStream, f.vector.bootStreams?.v2.manifestStream], `${f.name} V2 boot streams`);
  }
});

it('oci pull --bootable --expected-digest finds the format and xattr mode that made a boot image', async (ctx) => {
  const { store, dir, list } = fixtures(ctx);
  // single has user.* xattrs, so each mode gives another boot image.
  const f = list.find((x) => x.name === 'single');
  const want = f?.vector.bootIds?.[idKey(2, 'keep-user-xattrs')];
  if (!f || !want) throw new Error('the single fixture and its boot goldens are needed');
  assert.is.not(want, f.vector.bootIds?.[idKey(2)]);
  const repo = await newRepo(dir, 'expected');
  const r = await cfskit(['--repo', repo, 'oci', 'pull', '--progress', 'none', '--storage-root', store.root, '--bootable', '--expected-digest', want, f.ref]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, `Boot image: ${want} (xattr-mode=keep-user-xattrs, format-version=V2)`);
  const inspect = JSON.parse(await cli(repo, ['oci', 'inspect', f.ref])) as Record<string, unknown>;
  assert.is(inspect.composefs_boot_erofs, null, 'no default boot image was made');
  const fsck = JSON.parse(await cli(repo, ['oci', 'fsck', '--json'])) as { ok: boolean };
  assert.ok(fsck.ok, 'the found image is named and kept');
  const wrong = await cfskit(['--repo', repo, 'oci', 'pull', '--progress', 'none', '--storage-root', store.root, '--bootable', '--expected-digest', '0'.repeat(128), f.ref]);
  assert.is(wrong.status, 1);
  assert.match(wrong.stderr, 'no boot image configuration matched (tried 4 mode/version combinations)');
  const notHex = await cfskit(['--repo', repo, 'oci', 'pull', '--storage-root', store.root, '--bootable', '--expected-digest', 'xyz', f.ref]);
  assert.is(notHex.status, 2);
  assert.match(notHex.stderr, '--expected-digest "xyz" is not a sha512 digest');
});

it('oci fsck of every pulled image is clean, in cfsctl`s words', async () => {
  const text = await cli(mainRepo, ['oci', 'fsck']);
  assert.match(text, /^oci images: (\d+)\/\1 ok$/m);
  assert.match(text, /^status: ok$/m);
});

it('oci layer --json and --dumpfile equal cfsctl oci layer', async (ctx) => {
  for (const f of fixtures(ctx).list.filter((x) => x.vector.layerStreamsVia === 'pull')) {
    for (const layer of f.vector.layers ?? []) {
      assert.is(await cli(mainRepo, ['oci', 'layer', '--json', layer.diffId]), ociVectorFile(layer.json).toString('utf8'), layer.json);
      const r = await cfskit(['--repo', mainRepo, 'oci', 'layer', '--dumpfile', layer.diffId]);
      assert.ok(r.stdoutBytes.equals(ociVectorFile(layer.dumpfile)), layer.dumpfile);
    }
  }
});

const hex = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

/** A V1 image's whiteout stubs, which its raw mount shows in the root. */
const isStub = (rel: string, m: EntryView): boolean => /^[0-9a-f]{2}$/.test(rel) && m.type === 0o020000 && m.rdev === 0;

/** The mounted (V1) tree is the one the dumpfile describes, to the nanosecond. */
function compareMount(name: string, mounted: Map<string, EntryView>, lines: readonly DumpLine[]): void {
  const names = lines.map((l) => l.rel);
  assert.equal([...mounted.keys()].filter((k) => names.includes(k) || !isStub(k, mounted.get(k) as EntryView)).sort(), names.sort(), `${name}: names`);
  for (const l of lines) {
    const m = mounted.get(l.rel);
    const at = `${name}: /${l.rel}`;
    if (!m) throw new Error(`${at} missing`);
    if (l.hardlink) {
      assert.is(m.inode, l.payload, `${at} shares its inode`);
      continue;
    }
    const type = l.mode & 0o170000;
    const own = Object.fromEntries(Object.entries(m.xattrs).filter(([k]) => !k.startsWith('trusted.overlay.')));
    const want = Object.fromEntries(Object.entries(l.xattrs).map(([k, v]) => [k, hex(v)]));
    const got = { type: m.type, mode: m.mode, uid: m.uid, gid: m.gid, mtime: m.mtime, mtimeNsec: m.mtimeNsec, nlink: m.nlink, rdev: m.rdev, xattrs: own };
    const expected = { type, mode: l.mode & 0o7777, uid: l.uid, gid: l.gid, mtime: l.mtime, mtimeNsec: l.mtimeNsec, nlink: l.nlink, rdev: l.rdev, xattrs: want };
    assert.equal(got, expected, at);
    if (type !== 0o040000) assert.is(m.size, l.size, `${at} size`);
    if (type === 0o120000) assert.is(m.target, l.payload, `${at} target`);
  }
}

mounting('fsck.erofs accepts every image; the kernel shows the tree the dumpfile says', async (ctx) => {
  const views = new Map<string, Map<string, EntryView>>();
  for (const f of fixtures(ctx).list) {
    const image = join(mainRepo, 'images', imageIdOf(f.vector));
    await check('fsck.erofs', [image]);
    const dump = (await cfskit(['--repo', mainRepo, 'oci', 'dump', f.ref])).stdout;
    const mounted = await withErofsMount(image, (mnt) => snapshot(mnt, () => false));
    compareMount(f.name, mounted, parseDumpLines(dump));
    views.set(f.name, mounted);
  }
  // What the layers did, as the kernel shows it.
  const layers = views.get('layers');
  if (layers) {
    for (const gone of ['etc/removed', 'var/cache', 'etc/app/a', 'etc/app/sub', 'etc/app/new', 'usr/bin/tool', 'run/x']) assert.not.ok(layers.has(gone), gone);
    for (const kept of ['etc/keep', 'etc/app/after', 'opt/old/child', 'usr/bin/tool-link']) assert.ok(layers.has(kept), kept);
    assert.is(layers.get('opt/dirfile')?.type, 0o100000, 'a file over a directory');
    assert.is(layers.get('usr/bin/tool-link')?.size, 3000, 'the link kept the first tool');
    assert.is(layers.get('usr/share/fresh-link')?.inode, 'usr/share/fresh');
    assert.is(layers.get('usr/share/fresh')?.nlink, 2);
    assert.is(layers.get('')?.mode, 0o750, '/ took /usr`s mode');
  }
  const built = views.get('built');
  if (built) {
    assert.not.ok(built.has('etc/removed'), 'RUN rm: a whiteout');
    assert.equal([...built.keys()].filter((k) => k.startsWith('data/dir/')), ['data/dir/only'], 'rm -rf + mkdir: an opaque directory');
    assert.is(built.get('etc/keep-link')?.inode, 'etc/keep');
    assert.is(built.get('data/fifo')?.type, 0o010000);
  }
});

/**
 * `oci mount` through the CLI: every regular file reads back as the object
 * the dumpfile names (the overlay's redirect into objects/ works), with the
 * fs-verity digest that is its name; inline files have the dumpfile's size.
 */
composefs('oci mount shows every file`s exact bytes; --bootable mounts the boot variant; unmount leaves nothing', async (ctx) => {
  for (const f of fixtures(ctx).list) {
    for (const bootable of bootIdOf(f.vector) === undefined ? [false] : [false, true]) {
      const what = `${f.name}${bootable ? ' --bootable' : ''}`;
      const mnt = await mkdtemp(join(tmpdir(), 'cfskit-oci-mount-'));
      try {
        const mounted = JSON.parse(await cli(mainRepo, ['oci', 'mount', '--json', ...(bootable ? ['--bootable'] : []), f.ref, mnt])) as { imageId: string };
        assert.is(mounted.imageId, bootable ? bootIdOf(f.vector) : imageIdOf(f.vector), what);
        const dump = parseDumpLines(await cli(mainRepo, ['oci', 'dump', ...(bootable ? ['--bootable'] : []), f.ref]));
        let external = 0;
        for (const l of dump) {
          if (l.hardlink || (l.mode & 0o170000) !== 0o100000) continue;
          // Names are bytes: some fixtures hold names that are not UTF-8.
          const path = Buffer.concat([Buffer.from(`${mnt}/`), Buffer.from(l.rel, 'latin1')]);
          const bytes = await readFile(path);
          assert.is(bytes.length, l.size, `${what}: ${l.rel} size`);
          if (l.payload === '') continue;
          external++;
          assert.ok(bytes.equals(await readFile(join(mainRepo, 'objects', l.payload))), `${what}: ${l.rel} bytes`);
          const handle = await open(path);
          const digest = await digestFile(handle, { hashAlg: 'sha512' }).finally(() => handle.close());
          assert.is(digest.hex, l.payload.replace('/', ''), `${what}: ${l.rel} fs-verity digest`);
        }
        if (f.name === 'busybox' || f.name === 'single') assert.ok(external > 0, `${what}: some files are external objects`);
        if (bootable) assert.equal(await readdir(join(mnt, 'boot')).catch(() => []), [], `${what}: /boot is empty`);
      } finally {
        if (isMountpoint(mnt)) await cfskit(['unmount', mnt]);
        await rmdir(mnt);
      }
    }
  }
  assert.equal(await waitNoLeftovers(mainRepo), []);
});

/**
 * What composefs-rs keeps of a layer's xattrs with `--xattrs keep-user-xattrs`,
 * but for empty ones: a PAX xattr record with no value is an empty xattr to
 * composefs-rs and none to containers-storage (the test below shows one).
 */
const keptXattrs = (xattrs: Record<string, string>): Record<string, string> =>
  Object.fromEntries(Object.entries(xattrs).filter(([k, v]) => (k === 'security.capability' || k.startsWith('user.')) && v !== ''));

/** A tar member's name as a path relative to the image's root. */
const tarName = (name: TarMember['name']): string => Buffer.from(name).toString('latin1').replace(/^(\.\/)+/, '').replace(/\/+$/, '');

/**
 * The directories whose metadata, in the merged tree, come from a layer
 * that holds entries in them but no header of their own: containers-storage
 * makes such a directory when it applies the layer (0755, its owner, the
 * time of the pull), composefs-rs, so cfsctl and cfskit, keeps the lower
 * layer's header. A directory's metadata come from the topmost layer that
 * has it, by a header or by implication.
 */
function impliedDirectories(layers: readonly (readonly TarMember[])[]): Set<string> {
  const topmost = new Map<string, 'header' | 'implied'>();
  for (const layer of layers) {
    const headers = new Set(layer.filter((m) => m.type === '5').map((m) => tarName(m.name)));
    for (const dir of headers) topmost.set(dir, 'header');
    for (const m of layer) {
      const parts = tarName(m.name).split('/');
      for (let i = parts.length - 1; i > 0; i--) {
        const dir = parts.slice(0, i).join('/');
        if (!headers.has(dir)) topmost.set(dir, 'implied');
      }
    }
  }
  return new Set([...topmost].filter(([, how]) => how === 'implied').map(([dir]) => dir));
}

/**
 * A tree as both mounts can be compared: the root's own metadata and /run
 * are composefs-rs's (/usr's metadata, /run emptied); link counts and
 * inode numbers are each store's own (containers-storage hard-links equal
 * files across layers and images; the image's own hard links are checked
 * against its dumpfile above); symlinks are compared without their mode,
 * the names in `ownMetadata` without their mode, owner and mtime.
 */
function comparable(view: Map<string, EntryView>, ownMetadata: Set<string>): Map<string, Partial<EntryView>> {
  const out = new Map<string, Partial<EntryView>>();
  for (const [rel, v] of view) {
    if (rel === '' || rel === 'run' || rel.startsWith('run/')) continue;
    const { nlink: _nlink, inode: _inode, ...rest } = v;
    const kept: Partial<EntryView> = { ...rest, xattrs: keptXattrs(v.xattrs) };
    // A symlink's mode: the tar header's to composefs-rs, 0777 as symlink(2)
    // makes it to containers-storage (the test below shows one).
    if (v.type === 0o120000) delete kept.mode;
    if (ownMetadata.has(rel)) {
      delete kept.mode;
      delete kept.uid;
      delete kept.gid;
      delete kept.mtime;
      delete kept.mtimeNsec;
    }
    out.set(rel, kept);
  }
  return out;
}

composefs('oci mount shows what podman image mount shows: names, types, modes, owners, sizes, targets, xattrs, mtimes to the nanosecond', async (ctx) => {
  const { store, list } = fixtures(ctx);
  for (const f of list) {
    const mnt = await mkdtemp(join(tmpdir(), 'cfskit-oci-vs-podman-'));
    try {
      await cli(mainRepo, ['oci', 'mount', '--xattrs', 'keep-user-xattrs', f.ref, mnt]);
      const podmanMnt = (await store.podman(['image', 'mount', f.image.name])).trim();
      try {
        // Where containers-storage makes metadata of its own: every name of
        // a hard-link group (it applies a tar hard link's own header to the
        // inode it links; composefs-rs keeps the first header's, the check
        // below shows one), also one a later layer broke up, and the
        // directories a layer implies.
        const members = f.name in OCI_LAYER_MEMBERS ? OCI_LAYER_MEMBERS[f.name as keyof typeof OCI_LAYER_MEMBERS]() : [];
        const links = parseDumpLines(await cli(mainRepo, ['oci', 'dump', f.ref])).filter((l) => l.hardlink);
        const ownMetadata = new Set([
          ...links.flatMap((l) => [l.rel, l.payload]),
          ...members.flat().flatMap((m) => (m.type === '1' ? [tarName(m.name), tarName(m.link ?? '')] : [])),
          ...impliedDirectories(members),
        ]);
        const small = (_: string, size: number): boolean => size <= 4096;
        const ourView = await snapshot(mnt, small);
        const theirView = await snapshot(podmanMnt, small);
        const ours = comparable(ourView, ownMetadata);
        const theirs = comparable(theirView, ownMetadata);
        assert.equal([...ours.keys()], [...theirs.keys()], `${f.name}: names`);
        for (const [rel, view] of theirs) assert.equal(ours.get(rel), view, `${f.name}: /${rel}`);
        for (const [rel, v] of theirView) if (v.type === 0o120000) assert.is(v.mode, 0o777, `${f.name}: podman's /${rel}`);
        if (f.name === 'cstor-base') assert.is(ourView.get('bin/cat')?.mode, 0o644, 'cfskit, as cfsctl: a symlink has its tar header\'s mode');
        if (f.name === 'names') {
          assert.equal(ourView.get('usr/share/x')?.xattrs['user.empty'], '', 'cfskit, as cfsctl: a PAX xattr record with no value is an empty xattr');
          assert.is(theirView.get('usr/share/x')?.xattrs['user.empty'], undefined, 'containers-storage: it deletes the xattr, as POSIX reads an empty record');
        }
        if (f.name === 'single') {
          assert.is(ourView.get('usr/lib/late')?.mtimeNsec, 987654321, 'a PAX mtime fraction, to the nanosecond');
          // usr/bin/hard is a hard link (header mode 0644) to usr/bin/tool (0755).
          const modes = (v: Map<string, EntryView>): number[] => ['usr/bin/tool', 'usr/bin/hard'].map((rel) => (v.get(rel)?.mode ?? 0) & 0o7777);
          assert.equal(modes(ourView), [0o755, 0o755], 'cfskit, as cfsctl: the first header\'s mode');
          assert.equal(modes(theirView), [0o644, 0o644], 'containers-storage: the link header\'s mode');
        }
      } finally {
        await store.podman(['image', 'unmount', f.image.name]);
      }
    } finally {
      if (isMountpoint(mnt)) await cfskit(['unmount', mnt]);
      await rmdir(mnt);
    }
  }
  assert.equal(await waitNoLeftovers(mainRepo), []);
});

test.run();
