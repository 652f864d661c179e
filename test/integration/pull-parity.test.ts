/**
 * Parity: every OCI fixture image (oci-image-fixtures.ts: built by skopeo
 * and podman in a real store) pulled five ways — `containers-storage:`
 * from that store, `docker://` from a registry it was pushed to,
 * `oci:` copied from the registry by skopeo, `oci-archive:` and
 * `docker-archive:` written by `podman save` — gives the same layer
 * stream and config stream IDs, and the same manifest stream ID wherever
 * the manifest bytes are the same (and a docker-archive's made-up manifest
 * is the one skopeo makes). The containers-storage path is the one
 * checked against cfsctl's goldens, so the others are too. With
 * --bootable, --xattrs and a V2 repository every transport makes the same
 * image refs (`composefs.image…` names and images) as containers-storage,
 * and --expected-digest finds a boot image through a registry as well.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openImageStreams, pullFromContainersStorage, pullFromSource, type PullOptions, type PullResult } from '../../src/oci/index.js';
import { Repository, type ObjectId } from '../../src/repository/index.js';
import { cfskit, run } from '../support/cli.js';
import { buildOciFixtures, OCI_FIXTURES, type OciFixtureName } from '../support/oci-image-fixtures.js';
import { createPodmanStore, havePodman, type FixtureImage, type PodmanStore } from '../support/podman.js';
import { gated } from '../support/prereq.js';
import { registryPrereqs, startRegistry, type TestRegistry } from '../support/registry.js';

type Transport = 'containers-storage' | 'docker' | 'oci' | 'oci-archive' | 'docker-archive';

interface Context {
  store?: PodmanStore;
  registry?: TestRegistry;
  images?: Record<OciFixtureName, FixtureImage>;
  /** Per image: the source reference of each transport. */
  sources?: Map<OciFixtureName, Record<Transport, string>>;
  work?: string;
}

const test = suite<Context>('pull parity', {});
const it = gated(test, havePodman(), ...registryPrereqs());

async function check(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<void> {
  const r = await run(cmd, args, env ? { env } : {});
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

test.before(async (ctx) => {
  if (havePodman() !== undefined || registryPrereqs().some((p) => p !== undefined)) return;
  ctx.work = await mkdtemp(join(tmpdir(), 'cfskit-parity-'));
  ctx.store = await createPodmanStore();
  ctx.registry = await startRegistry();
  ctx.images = await buildOciFixtures(ctx.store);
  ctx.sources = new Map();
  const storeRef = `[overlay@${ctx.store.root}+${ctx.store.runroot}]`;
  for (const name of Object.keys(OCI_FIXTURES) as OciFixtureName[]) {
    const tag = OCI_FIXTURES[name].tag;
    const remote = `parity/${name}:1`;
    // To the registry (skopeo compresses the layers with gzip), back into a layout.
    await ctx.registry.push(`containers-storage:${storeRef}${tag}`, remote);
    const layout = join(ctx.work, `layout-${name}`);
    await check('skopeo', ['copy', '--quiet', ...ctx.registry.skopeoArgs('src'), ctx.registry.ref(remote), `oci:${layout}:1`]);
    const ociArchive = join(ctx.work, `${name}.oci.tar`);
    const dockerArchive = join(ctx.work, `${name}.docker.tar`);
    await ctx.store.podman(['save', '--quiet', '--format', 'oci-archive', '-o', ociArchive, tag]);
    await ctx.store.podman(['save', '--quiet', '--format', 'docker-archive', '-o', dockerArchive, tag]);
    ctx.sources.set(name, {
      'containers-storage': `containers-storage:${tag}`,
      docker: ctx.registry.ref(remote),
      oci: `oci:${layout}:1`,
      'oci-archive': `oci-archive:${ociArchive}`,
      'docker-archive': `docker-archive:${dockerArchive}`,
    });
  }
});

test.after(async (ctx) => {
  await ctx.registry?.stop();
  await ctx.store?.destroy();
  if (ctx.work) await rm(ctx.work, { recursive: true, force: true });
});

interface Pulled {
  readonly result: PullResult;
  /** diff_id → the layer stream's object (streams/oci-layer-… link target). */
  readonly layerStreams: Map<string, string>;
}

type ImageOptions = Pick<PullOptions, 'bootable' | 'xattrs'>;

async function pullInto(ctx: Context, transport: Transport, reference: string, image: FixtureImage, options: ImageOptions = {}, init: { erofsVersion?: 2 } = {}): Promise<Pulled & { imageRefs: Map<string, ObjectId> }> {
  const path = join(ctx.work ?? '', `repo-${transport}-${Math.random().toString(36).slice(2)}`);
  const repo = await Repository.init(path, { insecure: true, ...init });
  try {
    const result =
      transport === 'containers-storage'
        ? await pullFromContainersStorage(repo, reference, { storage: { storageRoot: ctx.store?.root ?? '' }, ...options })
        : await pullFromSource(repo, reference, { tls: { verify: false }, ...options });
    const layerStreams = new Map<string, string>();
    for (const layer of image.layers) layerStreams.set(layer.diffId, await readlink(join(path, 'streams', `oci-layer-${layer.diffId}`)));
    const imageRefs = new Map((await openImageStreams(repo, `@${result.manifestDigest}`)).imageRefs);
    return { result, layerStreams, imageRefs };
  } finally {
    await repo.close();
    await rm(path, { recursive: true, force: true });
  }
}

it('every fixture image: the same layer and config streams through all five transports; manifest streams where the bytes agree', async (ctx) => {
  const { sources, images } = ctx;
  if (!sources || !images) throw new Error('fixtures were not built');
  let sharedManifests = 0;
  for (const [name, refs] of sources) {
    const image = images[name];
    const pulled = new Map<Transport, Pulled>();
    for (const [transport, reference] of Object.entries(refs) as [Transport, string][]) {
      pulled.set(transport, await pullInto(ctx, transport, reference, image));
    }
    const reference = pulled.get('containers-storage');
    if (!reference) throw new Error('no containers-storage pull');
    for (const [transport, p] of pulled) {
      const what = `${name} via ${transport}`;
      assert.equal([...p.layerStreams], [...reference.layerStreams], `${what}: layer streams`);
      assert.is(p.result.configDigest, reference.result.configDigest, `${what}: config digest`);
      assert.is(p.result.configStream, reference.result.configStream, `${what}: config stream`);
      assert.is(p.result.composefsImage, reference.result.composefsImage, `${what}: composefs image`);
      for (const [other, q] of pulled) {
        if (other !== transport && q.result.manifestDigest === p.result.manifestDigest) {
          assert.is(p.result.manifestStream, q.result.manifestStream, `${what} and ${other}: same manifest bytes, same stream`);
          sharedManifests++;
        }
      }
    }
    // skopeo keeps the registry's manifest bytes in the layout.
    assert.is(pulled.get('oci')?.result.manifestDigest, pulled.get('docker')?.result.manifestDigest, `${name}: docker:// and oci: manifests`);
    // A docker-archive's manifest is made up; cfskit makes the bytes skopeo (and so cfsctl) makes.
    const made = await run('skopeo', ['inspect', '--raw', refs['docker-archive']]);
    assert.is(made.status, 0, made.stderr);
    assert.is(pulled.get('docker-archive')?.result.manifestDigest, `sha256:${createHash('sha256').update(made.stdoutBytes).digest('hex')}`, `${name}: docker-archive manifest`);
    assert.ok(image.layers.length > 0);
  }
  assert.ok(sharedManifests >= 2 * sources.size, 'manifest streams were compared');
});

it('--bootable --xattrs keep-user-xattrs in a V2 repository: the same image refs through every transport; --expected-digest via docker://', async (ctx) => {
  const { sources, images, work } = ctx;
  const refs = sources?.get('single');
  if (!refs || !images || !work) throw new Error('fixtures were not built');
  const options: ImageOptions = { bootable: true, xattrs: 'keep-user-xattrs' };
  const reference = await pullInto(ctx, 'containers-storage', refs['containers-storage'], images.single, options, { erofsVersion: 2 });
  // The default plain image, the plain and the bootable one in the mode asked for.
  assert.ok(reference.imageRefs.size >= 3, `image refs: ${[...reference.imageRefs.keys()].join(', ')}`);
  assert.ok(reference.result.bootImage !== undefined && reference.result.composefsImage !== undefined);
  for (const transport of ['docker', 'oci', 'oci-archive', 'docker-archive'] as const) {
    const p = await pullInto(ctx, transport, refs[transport], images.single, options, { erofsVersion: 2 });
    assert.equal([...p.imageRefs], [...reference.imageRefs], `single via ${transport}: image refs`);
    assert.is(p.result.bootImage, reference.result.bootImage, `single via ${transport}: boot image`);
    assert.is(p.result.composefsImage, reference.result.composefsImage, `single via ${transport}: composefs image`);
    assert.is(p.result.configStream, reference.result.configStream, `single via ${transport}: config stream`);
  }
  // The CLI's search, over a registry pull: it finds the mode and format that made the boot image.
  const repo = join(work, 'repo-expected');
  const init = await cfskit(['--repo', repo, '--erofs-version', '2', 'init', '--insecure']);
  assert.is(init.status, 0, init.stderr);
  const want = reference.result.bootImage ?? '';
  const r = await cfskit(['--repo', repo, 'oci', 'pull', refs.docker, '--tls-verify=false', '--progress', 'none', '--bootable', '--expected-digest', want]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, `Boot image: ${want} (xattr-mode=keep-user-xattrs, format-version=V2)`);
  const wrong = await cfskit(['--repo', repo, 'oci', 'pull', refs.docker, '--tls-verify=false', '--progress', 'none', '--bootable', '--expected-digest', '0'.repeat(128)]);
  assert.is(wrong.status, 1);
  assert.match(wrong.stderr, /no boot image configuration matched \(tried \d+ mode\/version combinations\)/);
});

test.run();
