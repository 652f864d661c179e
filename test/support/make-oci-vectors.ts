/**
 * Regenerates test/vectors/oci from a cfsctl binary the caller built (as
 * root, with podman and skopeo; see test/vectors/oci/README.md):
 *   node dist/test/support/make-oci-vectors.js /path/to/cfsctl test/vectors/oci
 * Builds every fixture image (oci-image-fixtures.ts and the hard-content images
 * of cstor-fixtures.ts) in a throwaway podman store, imports each with
 * `cfsctl oci pull --local-fetch auto containers-storage:TAG` into a new
 * insecure repository and writes down what cfsctl printed and stored.
 */
import { open, mkdtemp, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContainersStorage } from '../../src/cstor/index.js';
import { manifestContentId, sha256Digest, tagRef } from '../../src/oci/identifiers.js';
import { writeConfigStream, writeManifestStream } from '../../src/oci/image-streams.js';
import { Repository } from '../../src/repository/index.js';
import { openSplitstream } from '../../src/splitstream/index.js';
import { run } from './cli.js';
import { buildHardContentImages } from './cstor-fixtures.js';
import { buildOciFixtures, busyboxDigest, OCI_FIXTURES } from './oci-image-fixtures.js';
import type { LayerVector, OciVector, StreamVector } from './oci-vectors.js';
import { createPodmanStore, type FixtureImage, type PodmanStore } from './podman.js';

/** Dumpfiles larger than this are kept as their sha256 only. */
const MAX_DUMP_FILE = 64 * 1024;

/** Writes a dumpfile vector; returns its file name, or `sha256:<hex>` for a big one. */
async function saveDump(out: string, name: string, text: string): Promise<string> {
  if (text.length > MAX_DUMP_FILE) return sha256Digest(Buffer.from(text));
  await writeFile(join(out, name), text);
  return name;
}

/** Pulls tried until cfsctl happens to write the layer refs in diff_ids order. */
const MAX_ATTEMPTS = 200;

interface Source {
  readonly name: string;
  readonly image: FixtureImage;
  readonly about: string;
  readonly fixedDocuments: boolean;
  readonly bootable: boolean;
  readonly layerListings: boolean;
}

class Cfsctl {
  constructor(
    readonly bin: string,
    private readonly store: PodmanStore,
  ) {}

  async run(repo: string, args: readonly string[]): Promise<{ ok: boolean; out: string; err: string }> {
    const env = { ...process.env, STORAGE_OPTS: `additionalimagestore=${this.store.root}`, RUST_BACKTRACE: '0' };
    const r = await run(this.bin, ['--repo', repo, ...args], { env });
    return { ok: r.status === 0, out: r.stdout, err: r.stderr.trim().split('\n')[0] ?? '' };
  }

  /** A new insecure repository of EROFS format `version`. */
  async newRepo(version: 1 | 2 = 1): Promise<string> {
    const repo = join(await mkdtemp(join(tmpdir(), 'oci-vectors-')), 'repo');
    const r = await this.run(repo, ['init', '--insecure', '--erofs-version', String(version)]);
    if (!r.ok) throw new Error(`cfsctl init: ${r.err}`);
    return repo;
  }
}

const objectOf = async (link: string): Promise<string> => (await readlink(link)).replace(/^.*objects\/(..)\/(.*)$/, '$1$2');

/** The diff_ids in the order the stream's stream_refs list their layers. */
async function layerOrder(path: string): Promise<string[]> {
  const handle = await open(path);
  try {
    const reader = await openSplitstream(handle, path);
    const byId = new Map<string, string>();
    for (const [name, id] of reader.info.namedRefs) if (name.startsWith('sha256:')) byId.set(Buffer.from(id).toString('hex'), name);
    return reader.info.streamRefs.map((id) => byId.get(Buffer.from(id).toString('hex'))).filter((n): n is string => n !== undefined);
  } finally {
    await handle.close();
  }
}

/** Pulls into new repositories until the rewritten streams list the layers in diff_ids order. */
async function canonicalPull(
  cfsctl: Cfsctl,
  src: Source,
  extra: readonly string[],
  version: 1 | 2 = 1,
): Promise<{ repo: string; streams: StreamVector } | { error: string }> {
  const want = [...new Set(src.image.layers.map((l) => l.diffId))];
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const repo = await cfsctl.newRepo(version);
    const r = await cfsctl.run(repo, ['oci', 'pull', '--local-fetch', 'auto', ...extra, `containers-storage:${src.image.name}`]);
    if (!r.ok) {
      await rm(join(repo, '..'), { recursive: true, force: true });
      return { error: r.err };
    }
    const config = join(repo, 'streams', `oci-config-sha256:${src.image.id}`);
    const manifestLink = (await readlink(join(repo, 'streams/refs/oci', tagRef(`containers-storage:${src.image.name}`).slice(4)))).split('/').pop() ?? '';
    const manifest = join(repo, 'streams', manifestLink);
    const orders = [await layerOrder(config), await layerOrder(manifest)];
    if (orders.every((o) => o.join() === want.join())) {
      return { repo, streams: { configStream: await objectOf(config), manifestStream: await objectOf(manifest), attempts: attempt } };
    }
    await rm(join(repo, '..'), { recursive: true, force: true });
  }
  throw new Error(`${src.name}: no pull in ${MAX_ATTEMPTS} wrote the layers in diff_ids order`);
}

/**
 * For images composefs-rs's containers-storage reader cannot import (its
 * skopeo path needs a newer skopeo than this host's): each layer tar, as
 * `tar-split asm` rebuilds it, goes through `cfsctl oci import-layer`;
 * the config and manifest streams (before any composefs image, as
 * composefs-rs writes them at import) and the tag are written by cfskit.
 * cfsctl then computes everything else from them.
 */
async function importLayers(cfsctl: Cfsctl, src: Source, store: PodmanStore): Promise<{ repo: string; layerStreams: string[] }> {
  const repo = await cfsctl.newRepo();
  const layerStreams: string[] = [];
  for (const layer of src.image.layers) {
    const tar = await run('tar-split', [
      'asm', '--input', join(store.root, 'overlay-layers', `${layer.id}.tar-split.gz`), '--path', join(store.root, 'overlay', layer.id, 'diff'),
    ]);
    if (tar.status !== 0) throw new Error(`tar-split asm ${layer.id}: ${tar.stderr}`);
    const r = await run(cfsctl.bin, ['--repo', repo, 'oci', 'import-layer', layer.diffId], { input: tar.stdoutBytes });
    if (r.status !== 0) throw new Error(`${src.name}: import-layer ${layer.diffId}: ${r.stderr}`);
    layerStreams.push(r.stdout.trim().replace(/^sha(256|512):/, ''));
  }
  const storage = await ContainersStorage.open({ storageRoot: store.root });
  const image = await storage.findImage(src.image.name);
  const config = await storage.config(image);
  const manifest = await storage.manifest(image);
  if (!config || !manifest) throw new Error(`${src.name}: no config or manifest in containers-storage`);
  const cfskitRepo = await Repository.open(repo, { write: true });
  try {
    const layers = src.image.layers.map((l, i) => ({ diffId: l.diffId, streamId: layerStreams[i] ?? '' }));
    const configDigest = sha256Digest(config);
    const configStream = await writeConfigStream(cfskitRepo, config, configDigest, layers);
    await writeManifestStream(cfskitRepo, manifest, sha256Digest(manifest), { digest: configDigest, streamId: configStream }, layers);
    await cfskitRepo.streams.setRef(tagRef(`containers-storage:${src.image.name}`), manifestContentId(sha256Digest(manifest)));
  } finally {
    await cfskitRepo.close();
  }
  return { repo, layerStreams };
}

const MODES = ['allowlist-only', 'keep-user-xattrs'] as const;

/** `cfsctl oci compute-id` of every format and xattr mode, keyed `v<N>.<mode>`; or the first error. */
async function idsOf(cfsctl: Cfsctl, repo: string, tag: string, extra: readonly string[]): Promise<Record<string, string> | { error: string }> {
  const ids: Record<string, string> = {};
  for (const version of [0, 1, 2]) {
    for (const mode of MODES) {
      const r = await cfsctl.run(repo, ['--erofs-version', String(version), 'oci', 'compute-id', ...extra, '--xattrs', mode, tag]);
      if (!r.ok) return { error: r.err };
      ids[`v${version}.${mode}`] = r.out.trim();
    }
  }
  return ids;
}

async function vectorOf(cfsctl: Cfsctl, src: Source, out: string, store: PodmanStore): Promise<OciVector> {
  const tag = `containers-storage:${src.image.name}`;
  const diffIds = src.image.layers.map((l) => l.diffId);
  const base: Record<string, unknown> = { about: src.about, tag: src.image.name, diffIds, configDigest: `sha256:${src.image.id}`, fixedDocuments: src.fixedDocuments };
  const pulled = await canonicalPull(cfsctl, src, []);
  let repo: string;
  const vector: Record<string, unknown> = { ...base };
  if ('error' in pulled) {
    // composefs-rs's containers-storage reader fails on some layers
    // (non-UTF-8 names, which tar-split records as name_raw).
    vector.cstorPullError = pulled.error;
    const imported = await importLayers(cfsctl, src, store);
    repo = imported.repo;
    vector.layerStreams = imported.layerStreams;
    vector.layerStreamsVia = 'import-layer';
  } else {
    repo = pulled.repo;
    const v2 = await canonicalPull(cfsctl, src, [], 2);
    if ('error' in v2) throw new Error(`${src.name}: V2 pull: ${v2.error}`);
    vector.streams = { v1: pulled.streams, v2: v2.streams };
    await rm(join(v2.repo, '..'), { recursive: true, force: true });
    vector.layerStreams = await Promise.all(diffIds.map((d) => objectOf(join(repo, 'streams', `oci-layer-${d}`))));
    vector.layerStreamsVia = 'pull';
  }
  vector.manifestDigest = (await readlink(join(repo, 'streams/refs/oci', tagRef(tag).slice(4)))).replace(/^.*oci-manifest-/, '');
  const ids = await idsOf(cfsctl, repo, tag, []);
  if ('error' in ids) throw new Error(`${src.name}: compute-id: ${ids.error}`);
  vector.ids = ids;
  vector.dump = await saveDump(out, `${src.name}.dump`, (await cfsctl.run(repo, ['oci', 'dump', tag])).out);
  const userDump = (await cfsctl.run(repo, ['oci', 'dump', '--xattrs', 'keep-user-xattrs', tag])).out;
  if (userDump !== (await cfsctl.run(repo, ['oci', 'dump', tag])).out) vector.userDump = await saveDump(out, `${src.name}.user.dump`, userDump);
  const bootIds = await idsOf(cfsctl, repo, tag, ['--bootable']);
  if (!('error' in bootIds)) {
    vector.bootIds = bootIds;
    vector.bootDump = await saveDump(out, `${src.name}.boot.dump`, (await cfsctl.run(repo, ['oci', 'dump', '--bootable', tag])).out);
    if (vector.streams !== undefined) {
      const streams: Record<string, StreamVector> = {};
      for (const version of [1, 2] as const) {
        const bootPull = await canonicalPull(cfsctl, src, ['--bootable'], version);
        if ('error' in bootPull) throw new Error(`${src.name}: pull --bootable: ${bootPull.error}`);
        streams[`v${version}`] = bootPull.streams;
        await rm(join(bootPull.repo, '..'), { recursive: true, force: true });
      }
      vector.bootStreams = streams;
    }
  } else {
    vector.bootError = bootIds.error;
  }
  if (src.layerListings) {
    const layers: LayerVector[] = [];
    for (const [i, diffId] of diffIds.entries()) {
      const json = `${src.name}.layer-${i + 1}.json`;
      const dumpfile = `${src.name}.layer-${i + 1}.dump`;
      await writeFile(join(out, json), (await cfsctl.run(repo, ['oci', 'layer', '--json', diffId])).out);
      await writeFile(join(out, dumpfile), (await cfsctl.run(repo, ['oci', 'layer', '--dumpfile', diffId])).out);
      layers.push({ diffId, json, dumpfile });
    }
    vector.layers = layers;
  }
  await rm(join(repo, '..'), { recursive: true, force: true });
  return vector as unknown as OciVector;
}

async function main(bin: string, out: string, commit: string): Promise<void> {
  const store = await createPodmanStore();
  try {
    const oci = await buildOciFixtures(store);
    const hard = await buildHardContentImages(store);
    const sources: Source[] = [
      ...Object.values(OCI_FIXTURES).map((f) => ({
        name: f.name,
        image: oci[f.name],
        about: f.about,
        fixedDocuments: true,
        bootable: f.bootable,
        layerListings: f.name === 'single' || f.name === 'layers' || f.name === 'names',
      })),
      ...Object.entries(hard).map(([name, image]) => ({
        name: `cstor-${name}`,
        image,
        about: `cstor-fixtures.ts ${name}`,
        fixedDocuments: false,
        bootable: false,
        layerListings: name === 'gnu',
      })),
    ];
    const cfsctl = new Cfsctl(bin, store);
    const images: Record<string, OciVector> = {};
    for (const src of sources) {
      images[src.name] = await vectorOf(cfsctl, src, out, store);
      const v = images[src.name];
      process.stderr.write(`${src.name}: ${v?.ids?.['v1.allowlist-only'] ?? ''} (${v?.streams?.v1.attempts ?? 0}+${v?.streams?.v2.attempts ?? 0} pulls)\n`);
    }
    await writeFile(join(out, 'goldens.json'), `${JSON.stringify({ cfsctl: commit, busybox: busyboxDigest(), images }, null, 2)}\n`);
  } finally {
    await store.destroy();
  }
}

const [bin, out, commit] = process.argv.slice(2);
if (!bin || !out || !commit) {
  process.stderr.write('usage: make-oci-vectors CFSCTL OUTDIR "cfsctl 0.9.0 (composefs-rs COMMIT)"\n');
  process.exit(2);
}
await main(bin, out, commit);
