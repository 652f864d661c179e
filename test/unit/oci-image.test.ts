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
import { dumpMatches, idKey, loadOciVectors, ociVectorFile, type OciVector } from '../support/oci-vectors.js';
import { XATTR_MODES, type XattrMode } from '../../common/index.js';
import { rejects } from '../support/rejects.js';
import { InputError } from '../../common/index.js';
import { tarBytes, dir, file, hardlink, symlink, type TarMember } from '../support/tar-writer.js';
import { importLayers } from '../support/oci-import.js';

const VECTORS = loadOciVectors();
const FIXTURES = ['single', 'layers', 'names', 'selinux'] as const;
type Fixture = (typeof FIXTURES)[number];

interface Context {
  dir?: string;
  /** The default (V1) repository. */
  repo?: Repository;
  /** A V2 repository. */
  v2?: Repository;
}

const test = suite<Context>('oci-image', {});

test.before(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'cfskit-oci-unit-'));
  ctx.repo = await Repository.init(join(ctx.dir, 'repo'), { insecure: true });
  ctx.v2 = await Repository.init(join(ctx.dir, 'repo-v2'), { insecure: true, erofsVersion: 2 });
});

test.after(async (ctx) => {
  await ctx.repo?.close();
  await ctx.v2?.close();
  if (ctx.dir) await rm(ctx.dir, { recursive: true, force: true });
});

function repoOf(ctx: Context, version: 1 | 2 = 1): Repository {
  const repo = version === 1 ? ctx.repo : ctx.v2;
  if (!repo) throw new Error('no repository');
  return repo;
}

function vector(name: string): OciVector {
  const v = VECTORS?.images[name];
  if (!v) throw new Error(`no golden values for ${name} in test/vectors/oci`);
  return v;
}


const imported = new Map<string, { tag: string; refs: LayerRef[] }>();

async function fixture(repo: Repository, name: Fixture): Promise<string> {
  const key = `${repo.path}:${name}`;
  let found = imported.get(key);
  if (!found) {
    found = await importLayers(repo, `fixture-${name}`, OCI_LAYERS[name]());
    imported.set(key, found);
  }
  return found.tag;
}

function id(v: OciVector, version: 0 | 1 | 2, mode?: XattrMode): string {
  const found = v.ids[idKey(version, mode)];
  if (found === undefined) throw new Error(`no ${idKey(version, mode)} golden`);
  return found;
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
    assert.equal(imported.get(`${repo.path}:${name}`)?.refs.map((r) => r.diffId), v.diffIds, `${name} diff_ids`);
    assert.equal(imported.get(`${repo.path}:${name}`)?.refs.map((r) => r.streamId), v.layerStreams, `${name} layer streams`);
  }
});

test('compute-id and dump equal cfsctl oci compute-id and oci dump, every format and xattr mode', async (ctx) => {
  const repo = repoOf(ctx);
  for (const name of FIXTURES) {
    const tag = await fixture(repo, name);
    const v = vector(name);
    assert.is((await computeOciImageId(repo, tag)).hex, id(v, 1), `${name} image ID (the repository's V1)`);
    for (const erofsVersion of [0, 1, 2] as const) {
      for (const xattrs of XATTR_MODES) {
        assert.is((await computeOciImageId(repo, tag, { erofsVersion, xattrs })).hex, id(v, erofsVersion, xattrs), `${name} ${idKey(erofsVersion, xattrs)}`);
      }
    }
    const dump = await collect((w) => writeOciDumpfile(repo, tag, w));
    assert.ok(v.dump && dumpMatches(v.dump, dump), `${name} dumpfile`);
    const user = await collect((w) => writeOciDumpfile(repo, tag, w, { xattrs: 'keep-user-xattrs' }));
    assert.ok(dumpMatches(v.userDump ?? v.dump ?? '', user), `${name} keep-user-xattrs dumpfile`);
  }
  // composefs-rs 0.9 filters an OCI image's xattrs: the labels and user.*
  // xattrs its layers carry are gone unless asked for.
  assert.not.match(ociVectorFile('single.dump').toString('latin1'), /security\.selinux/);
});

test('--bootable: relabelled from the image policy, labels dropped without one, refused without /boot', async (ctx) => {
  const repo = repoOf(ctx);
  for (const name of FIXTURES) {
    const tag = await fixture(repo, name);
    const v = vector(name);
    if (v.bootIds === undefined) {
      assert.ok(v.bootError, name);
      assert.match(String(await rejects(computeOciImageId(repo, tag, { bootable: true }))), /"boot" does not exist/);
      continue;
    }
    for (const erofsVersion of [0, 1, 2] as const) {
      for (const xattrs of XATTR_MODES) {
        const got = (await computeOciImageId(repo, tag, { bootable: true, erofsVersion, xattrs })).hex;
        assert.is(got, v.bootIds[idKey(erofsVersion, xattrs)], `${name} boot ${idKey(erofsVersion, xattrs)}`);
      }
    }
    const dump = await collect((w) => writeOciDumpfile(repo, tag, w, { bootable: true }));
    assert.ok(v.bootDump && dumpMatches(v.bootDump, dump), `${name} boot dumpfile`);
  }
  const selinux = ociVectorFile('selinux.boot.dump').toString('latin1');
  assert.match(selinux, /^\/usr\/bin\/app .* security\.selinux=system_u:object_r:bin_t:s0$/m);
  assert.match(selinux, /^\/boot 0 40755 2 /m);
  assert.not.match(ociVectorFile('single.boot.dump').toString('latin1'), /security\.selinux/);
});

for (const version of [1, 2] as const) {
  const plainRef = version === 1 ? 'composefs.image.v1' : 'composefs.image';
  const bootRef = version === 1 ? 'composefs.image.boot.v1' : 'composefs.image.boot';

  test(`V${version} repository: ensureImage records ${plainRef}, the streams become cfsctl's; again is a no-op`, async (ctx) => {
    const repo = repoOf(ctx, version);
    for (const name of FIXTURES) {
      const tag = await fixture(repo, name);
      const v = vector(name);
      const made = await ensureImage(repo, tag, { tag });
      assert.ok(made?.created, name);
      assert.is(made?.imageId, id(v, version), `${name} image ref`);
      const streams = v.streams?.[`v${version}`];
      if (streams) {
        assert.is(made?.configStream, streams.configStream, `${name} config stream`);
        assert.is(made?.manifestStream, streams.manifestStream, `${name} manifest stream`);
      }
      assert.ok((await repo.images.list()).includes(id(v, version)), `${name} linked under images/`);
      const again = await ensureImage(repo, tag);
      assert.equal(again, { ...made, created: false }, `${name} no-op`);
      const opened = await openImageStreams(repo, tag);
      assert.equal([...opened.imageRefs], [[plainRef, id(v, version)]]);
      assert.is(opened.configStream, made?.configStream);
    }
  });

  test(`V${version} repository: ensureImage --bootable adds ${bootRef} and keeps ${plainRef}`, async (ctx) => {
    const repo = repoOf(ctx, version);
    for (const name of FIXTURES) {
      const v = vector(name);
      if (v.bootIds === undefined) continue;
      const tag = await fixture(repo, name);
      const boot = await ensureImage(repo, tag, { bootable: true });
      assert.is(boot?.imageId, v.bootIds[idKey(version)], name);
      const streams = v.bootStreams?.[`v${version}`];
      assert.is(boot?.configStream, streams?.configStream, `${name} config stream`);
      assert.is(boot?.manifestStream, streams?.manifestStream, `${name} manifest stream`);
      const opened = await openImageStreams(repo, tag);
      assert.equal(Object.fromEntries(opened.imageRefs), { [plainRef]: id(v, version), [bootRef]: v.bootIds[idKey(version)] });
    }
  });
}

test('other xattr modes and formats get their own refs, kept beside the others', async (ctx) => {
  const repo = repoOf(ctx);
  const tag = await fixture(repo, 'selinux');
  const v = vector('selinux');
  const user = await ensureImage(repo, tag, { xattrs: 'keep-user-xattrs' });
  const userBoot = await ensureImage(repo, tag, { bootable: true, xattrs: 'keep-user-xattrs' });
  assert.is(user?.imageId, id(v, 1, 'keep-user-xattrs'));
  assert.is(userBoot?.imageId, v.bootIds?.[idKey(1, 'keep-user-xattrs')]);
  const refs = Object.fromEntries((await openImageStreams(repo, tag)).imageRefs);
  assert.is(refs['composefs.image.v1.xattrs=keep-user-xattrs'], user?.imageId);
  assert.is(refs['composefs.image.boot.v1.xattrs=keep-user-xattrs'], userBoot?.imageId);
  assert.is(refs['composefs.image.v1'], id(v, 1), 'the default image is still named');
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
  assert.is((await openImageStreams(repo, tag)).imageRefs.size, 0);
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
