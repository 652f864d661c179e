/**
 * The composefs images of OCI images against composefs-rs's
 * (test/vectors/oci), without podman: the deterministic fixtures' layer
 * tars go in through `import-layer` (which makes the same layer streams
 * as a containers-storage pull), their config and manifest streams and
 * tag as a pull writes them; then image IDs, dumpfiles, the rewritten
 * config and manifest streams, layer listings and the bootable variant
 * must be cfsctl's, byte for byte.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdtemp, rm } from 'node:fs/promises';
import {
  computeOciImageId,
  ensureImage,
  layerInfo,
  manifestContentId,
  openImageStreams,
  sha256Digest,
  tagRef,
  writeLayerDumpfile,
  writeOciDumpfile,
} from '../../src/oci/index.js';
import { writeConfigStream, writeManifestStream, type LayerRef } from '../../src/oci/image-streams.js';
import { Repository } from '../../src/repository/index.js';
import { ociDocuments } from '../support/oci-image-fixtures.js';
import { OCI_LAYERS } from '../support/oci-layers.js';
import { dumpMatches, loadOciVectors, ociVectorFile, type OciVector } from '../support/oci-vectors.js';
import { rejects } from '../support/rejects.js';
import { InputError } from '../../common/index.js';
import { tarBytes, dir, file, hardlink, symlink, type TarMember } from '../support/tar-writer.js';
import { importLayers } from '../support/oci-import.js';

const VECTORS = loadOciVectors();
const FIXTURES = ['single', 'layers', 'names', 'selinux'] as const;
type Fixture = (typeof FIXTURES)[number];

interface Context {
  dir?: string;
  repo?: Repository;
}

const test = suite<Context>('oci-image', {});

test.before(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'cfskit-oci-unit-'));
  ctx.repo = await Repository.init(join(ctx.dir, 'repo'), { insecure: true });
});

test.after(async (ctx) => {
  await ctx.repo?.close();
  if (ctx.dir) await rm(ctx.dir, { recursive: true, force: true });
});

function repoOf(ctx: Context): Repository {
  if (!ctx.repo) throw new Error('no repository');
  return ctx.repo;
}

function vector(name: string): OciVector {
  const v = VECTORS?.images[name];
  if (!v) throw new Error(`no golden values for ${name} in test/vectors/oci`);
  return v;
}


const imported = new Map<Fixture, { tag: string; refs: LayerRef[] }>();

async function fixture(repo: Repository, name: Fixture): Promise<string> {
  let found = imported.get(name);
  if (!found) {
    found = await importLayers(repo, `fixture-${name}`, OCI_LAYERS[name]());
    imported.set(name, found);
  }
  return found.tag;
}

async function collect(write: (out: (chunk: Uint8Array) => Promise<void>) => Promise<void>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await write(async (c) => {
    chunks.push(Buffer.from(c));
  });
  return Buffer.concat(chunks);
}

test('the goldens are there', () => {
  assert.ok(VECTORS, 'test/vectors/oci/goldens.json is missing');
});

test('import-layer makes the layer streams cfsctl made (pulled or imported)', async (ctx) => {
  const repo = repoOf(ctx);
  for (const name of FIXTURES) {
    await fixture(repo, name);
    const v = vector(name);
    assert.equal(imported.get(name)?.refs.map((r) => r.diffId), v.diffIds, `${name} diff_ids`);
    assert.equal(imported.get(name)?.refs.map((r) => r.streamId), v.layerStreams, `${name} layer streams`);
  }
});

test('compute-id and dump equal cfsctl oci compute-id and oci dump', async (ctx) => {
  const repo = repoOf(ctx);
  for (const name of FIXTURES) {
    const tag = await fixture(repo, name);
    const v = vector(name);
    assert.is((await computeOciImageId(repo, tag)).hex, v.imageId, `${name} image ID`);
    const dump = await collect((w) => writeOciDumpfile(repo, tag, w));
    assert.ok(v.dump && dumpMatches(v.dump, dump), `${name} dumpfile`);
  }
});

test('--bootable: relabelled from the image policy, labels dropped without one, refused without /boot', async (ctx) => {
  const repo = repoOf(ctx);
  for (const name of FIXTURES) {
    const tag = await fixture(repo, name);
    const v = vector(name);
    if (v.bootImageId === undefined) {
      assert.ok(v.bootError, name);
      assert.match(String(await rejects(computeOciImageId(repo, tag, { bootable: true }))), /"boot" does not exist/);
      continue;
    }
    assert.is((await computeOciImageId(repo, tag, { bootable: true })).hex, v.bootImageId, `${name} boot image ID`);
    const dump = await collect((w) => writeOciDumpfile(repo, tag, w, { bootable: true }));
    assert.ok(v.bootDump && dumpMatches(v.bootDump, dump), `${name} boot dumpfile`);
  }
  const selinux = ociVectorFile('selinux.boot.dump').toString('latin1');
  assert.match(selinux, /^\/usr\/bin\/app .* security\.selinux=system_u:object_r:bin_t:s0$/m);
  assert.match(selinux, /^\/boot 0 40755 2 /m);
  assert.not.match(ociVectorFile('single.boot.dump').toString('latin1'), /security\.selinux/);
  assert.match(ociVectorFile('single.dump').toString('latin1'), /security\.selinux/);
});

test('ensureImage records composefs.image: the streams become cfsctl`s; again is a no-op', async (ctx) => {
  const repo = repoOf(ctx);
  for (const name of FIXTURES) {
    const tag = await fixture(repo, name);
    const v = vector(name);
    const made = await ensureImage(repo, tag, { tag });
    assert.ok(made?.created, name);
    assert.is(made?.imageId, v.imageId, `${name} image ref`);
    if (v.streams) {
      assert.is(made?.configStream, v.streams.configStream, `${name} config stream`);
      assert.is(made?.manifestStream, v.streams.manifestStream, `${name} manifest stream`);
    }
    assert.ok((await repo.images.list()).includes(v.imageId ?? ''), `${name} linked under images/`);
    const again = await ensureImage(repo, tag);
    assert.equal(again, { ...made, created: false }, `${name} no-op`);
    const opened = await openImageStreams(repo, tag);
    assert.is(opened.imageRef, v.imageId);
    assert.is(opened.configStream, made?.configStream);
  }
});

test('ensureImage --bootable adds composefs.image.boot and keeps composefs.image', async (ctx) => {
  const repo = repoOf(ctx);
  for (const name of FIXTURES) {
    const v = vector(name);
    if (v.bootImageId === undefined) continue;
    const tag = await fixture(repo, name);
    const boot = await ensureImage(repo, tag, { bootable: true });
    assert.is(boot?.imageId, v.bootImageId, name);
    assert.is(boot?.configStream, v.bootStreams?.configStream, `${name} config stream`);
    assert.is(boot?.manifestStream, v.bootStreams?.manifestStream, `${name} manifest stream`);
    const opened = await openImageStreams(repo, tag);
    assert.equal([opened.imageRef, opened.bootImageRef], [v.imageId, v.bootImageId]);
  }
});

test('layer --json and --dumpfile equal cfsctl oci layer', async (ctx) => {
  const repo = repoOf(ctx);
  for (const name of FIXTURES) {
    await fixture(repo, name);
    for (const layer of vector(name).layers ?? []) {
      const json = `${JSON.stringify(await layerInfo(repo, layer.diffId), null, 2)}\n`;
      assert.is(json, ociVectorFile(layer.json).toString('utf8'), layer.json);
      const lines = await collect((w) => writeLayerDumpfile(repo, layer.diffId, w));
      assert.ok(lines.equals(ociVectorFile(layer.dumpfile)), layer.dumpfile);
    }
  }
});

test('an image without /usr, or whose layer lacks a parent, has no composefs image', async (ctx) => {
  const repo = repoOf(ctx);
  const { tag } = await importLayers(repo, 'no-usr', [tarBytes([dir('etc/'), file('etc/x', 'x')])]);
  assert.match(String(await rejects(computeOciImageId(repo, tag))), /\/usr does not exist/);
  assert.match(String(await rejects(ensureImage(repo, tag))), /\/usr does not exist/);
  assert.is((await openImageStreams(repo, tag)).imageRef, undefined);
  const orphan = await importLayers(repo, 'orphan', [tarBytes([dir('usr/'), file('usr/a/b', 'x')])]);
  assert.match(String(await rejects(computeOciImageId(repo, orphan.tag))), /layer 1, \/usr\/a\/b: Directory entry "a" does not exist/);
});

/** The error computing the image of `layers` fails with. */
async function imageError(repo: Repository, tag: string, layers: readonly (readonly TarMember[])[]): Promise<{ err: unknown; diffIds: string[] }> {
  const { refs } = await importLayers(repo, tag, layers.map((members) => tarBytes(members)));
  return { err: await rejects(computeOciImageId(repo, tag)), diffIds: refs.map((r) => r.diffId) };
}

test('hostile layers fail in the wasm core naming the layer diff_id, the member and the problem', async (ctx) => {
  const repo = repoOf(ctx);
  const cases: [string, readonly TarMember[], string][] = [
    ['through-symlink', [dir('usr/'), symlink('usr/lib', '/etc'), file('usr/lib/x', 'x')], '/usr/lib/x: Directory entry "lib" is not a subdirectory'],
    ['dot-dot', [dir('usr/'), file('usr/../x', 'x')], '/usr/../x: Invalid filename "/usr/../x"'],
    ['link-missing', [dir('usr/'), hardlink('usr/h', 'usr/gone')], '/usr/h: hard link target "/usr/gone": Directory entry "gone" does not exist'],
    ['link-dir', [dir('usr/'), hardlink('usr/h', 'usr')], '/usr/h: hard link target "/usr": Directory entry "usr" is a directory'],
  ];
  for (const [name, members, problem] of cases) {
    // The hostile member in the second layer, so the message must say which.
    const { err, diffIds } = await imageError(repo, `hostile-${name}`, [[dir('usr/')], members]);
    assert.instance(err, InputError, name);
    assert.ok(String(err).includes(`layer ${diffIds[1]}: layer 2, ${problem}`), `${name}: ${String(err)}`);
  }
  // Duplicates, odd names and whiteouts of "." and ".." are composefs-rs's no-ops or last-wins.
  const odd = [dir('./'), dir('usr/'), file('usr/f', '1'), file('/usr/f', '22'), file('usr/.wh..', ''), file('.wh...', ''), dir('usr/..')];
  const { tag } = await importLayers(repo, 'hostile-odd', [tarBytes(odd)]);
  const dump = (await collect((w) => writeOciDumpfile(repo, tag, w))).toString('latin1');
  assert.equal(dump.split('\n').map((l) => l.split(' ')[0]).filter(Boolean), ['/', '/usr', '/usr/f']);
  assert.match(dump, /^\/usr\/f 2 100644 1 /m);
});

test('a layer ref naming a stream that is not a layer is refused naming the layer', async (ctx) => {
  const repo = repoOf(ctx);
  const docs = ociDocuments([tarBytes([dir('usr/')])]);
  const diffId = docs.diffIds[0] ?? '';
  const configDigest = sha256Digest(docs.config);
  // The config's own stream (content type ociconfg) given as the layer's.
  const bogus = await writeConfigStream(repo, docs.config, configDigest, []);
  const configStream = await writeConfigStream(repo, docs.config, configDigest, [{ diffId, streamId: bogus }]);
  const manifestDigest = sha256Digest(docs.manifest);
  await writeManifestStream(repo, docs.manifest, manifestDigest, { digest: configDigest, streamId: configStream }, [{ diffId, streamId: bogus }]);
  await repo.streams.setRef(tagRef('wrong-type'), manifestContentId(manifestDigest));
  const err = await rejects(computeOciImageId(repo, 'wrong-type'));
  assert.instance(err, InputError);
  assert.match(String(err), new RegExp(`layer ${diffId}: ${bogus}: splitstream content type is .*ociconfg.*, expected .*ocilayer`));
});

test('a layer nesting directories 3000 deep builds through the wasm core without a trap', async (ctx) => {
  const repo = repoOf(ctx);
  const members: TarMember[] = [dir('usr/')];
  let path = 'usr';
  for (let i = 0; i < 3000; i++) members.push(dir((path += '/d')));
  members.push(file(`${path}/f`, 'bottom'));
  const { tag } = await importLayers(repo, 'deep', [tarBytes(members)]);
  assert.is((await computeOciImageId(repo, tag)).hex.length, 128);
  const dump = await collect((w) => writeOciDumpfile(repo, tag, w));
  assert.ok(dump.toString('latin1').endsWith(`\n/${path}/f 6 100644 1 0 0 0 1700000000.0 - bottom -\n`));
});

test.run();
