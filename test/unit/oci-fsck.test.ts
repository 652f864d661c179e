/**
 * `oci fsck` without podman: images imported from in-memory layer tars,
 * then damaged the ways composefs-rs's checks name (a missing layer ref,
 * a config whose bytes are not its digest), and the ways only cfskit finds:
 * a layer stream cut short inside a member or between two, also when no
 * tag reaches it (what cfsctl 0.9 leaves after a failed import).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeOciProblem, layerContentId, manifestContentId, ociFsck, sha256Digest, tagRef } from '../../src/oci/index.js';
import { writeConfigStream, writeManifestStream, type LayerRef } from '../../src/oci/image-streams.js';
import { objectIdBytes } from '../../src/repository/object-id.js';
import { Repository } from '../../src/repository/index.js';
import { CONTENT_TYPES } from '../../src/splitstream/index.js';
import { ociDocuments } from '../support/oci-image-fixtures.js';
import { importLayers } from '../support/oci-import.js';
import { dir, file, tarBytes } from '../support/tar-writer.js';

interface Context {
  dir?: string;
}

const test = suite<Context>('oci-fsck', {});

test.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'cfskit-oci-fsck-'));
});

test.after.each(async (ctx) => {
  if (ctx.dir) await rm(ctx.dir, { recursive: true, force: true });
});

async function withRepo(ctx: Context, body: (repo: Repository) => Promise<void>): Promise<void> {
  const repo = await Repository.init(join(ctx.dir ?? '', 'repo'), { insecure: true });
  try {
    await body(repo);
  } finally {
    await repo.close();
  }
}

const layerTar = (): Buffer => tarBytes([dir('usr/'), file('usr/a', 'A'.repeat(40)), file('usr/b', 'b')]);

/** A layer stream holding only the first `bytes` of `tar`, inline. */
async function cutLayerStream(repo: Repository, tar: Buffer, bytes: number, diffId: string): Promise<string> {
  const writer = repo.streams.writer(CONTENT_TYPES.ociLayer);
  await writer.writeInline(tar.subarray(0, bytes));
  return repo.streams.commit(await writer.finish(), layerContentId(diffId));
}

/** An image whose one layer is `streamId`, tagged `tag`. */
async function imageOf(repo: Repository, tar: Buffer, streamId: string, tag: string): Promise<string> {
  const docs = ociDocuments([tar]);
  const refs: LayerRef[] = [{ diffId: docs.diffIds[0] ?? '', streamId }];
  const configDigest = sha256Digest(docs.config);
  const configStream = await writeConfigStream(repo, docs.config, configDigest, refs);
  const manifestDigest = sha256Digest(docs.manifest);
  await writeManifestStream(repo, docs.manifest, manifestDigest, { digest: configDigest, streamId: configStream }, refs);
  await repo.streams.setRef(tagRef(tag), manifestContentId(manifestDigest));
  return docs.diffIds[0] ?? '';
}

test('a healthy image is ok', async (ctx) => {
  await withRepo(ctx, async (repo) => {
    await importLayers(repo, 'ok', [layerTar()]);
    const report = await ociFsck(repo);
    assert.equal([report.ok, report.imagesChecked, report.imagesCorrupted, report.problems], [true, 1, 0, []]);
  });
});

test('a layer stream cut inside a member, or between members, is reported by the image and the layer', async (ctx) => {
  await withRepo(ctx, async (repo) => {
    const tar = layerTar();
    const diffId = ociDocuments([tar]).diffIds[0] ?? '';
    // Inside usr/a's content (header at 512, content from 1024).
    await imageOf(repo, tar, await cutLayerStream(repo, tar, 1044, diffId), 'cut');
    const report = await ociFsck(repo, { image: 'cut' });
    assert.not.ok(report.ok);
    assert.is(report.imagesCorrupted, 1);
    const [problem] = report.problems;
    assert.is(problem?.kind, 'layer-stream-invalid');
    const text = describeOciProblem(problem ?? { kind: 'layer-stream-invalid', name: '', detail: '' });
    assert.ok(text.startsWith(`fsck: layer-stream-invalid: cut: ${diffId}: after 1 member: `), text);
    assert.match(problem?.detail ?? '', 'usr/a');
  });
  await rm(join(ctx.dir ?? '', 'repo'), { recursive: true, force: true });
  await withRepo(ctx, async (repo) => {
    const tar = layerTar();
    const diffId = ociDocuments([tar]).diffIds[0] ?? '';
    // After usr/a's padding: a member boundary, but no end-of-archive.
    await imageOf(repo, tar, await cutLayerStream(repo, tar, 1536, diffId), 'boundary');
    const [problem] = (await ociFsck(repo)).problems;
    assert.is(problem?.kind, 'layer-stream-invalid');
    assert.match(problem?.detail ?? '', 'the tar stops after 2 members without its end-of-archive blocks (cut short?)');
  });
});

test('a cut-short layer stream no tag reaches is reported by its stream name', async (ctx) => {
  await withRepo(ctx, async (repo) => {
    const tar = layerTar();
    const diffId = ociDocuments([tar]).diffIds[0] ?? '';
    await cutLayerStream(repo, tar, 700, diffId);
    const report = await ociFsck(repo);
    assert.is(report.imagesChecked, 0);
    assert.equal(report.problems.map((p) => [p.kind, p.name]), [['layer-stream-invalid', `streams/${layerContentId(diffId)}`]]);
    // Asked about one image, only that one is looked at.
    assert.is((await ociFsck(repo, { image: 'nothing' })).problems[0]?.kind, 'ref-resolve-failed');
  });
});

test('composefs-rs`s checks: a missing layer ref, a config that is not its digest, a missing composefs image', async (ctx) => {
  await withRepo(ctx, async (repo) => {
    const tar = layerTar();
    const docs = ociDocuments([tar]);
    const configDigest = sha256Digest(docs.config);
    // No named ref to the layer.
    const configStream = await writeConfigStream(repo, docs.config, configDigest, []);
    const manifestDigest = sha256Digest(docs.manifest);
    await writeManifestStream(repo, docs.manifest, manifestDigest, { digest: configDigest, streamId: configStream }, []);
    await repo.streams.setRef(tagRef('no-layer-ref'), manifestContentId(manifestDigest));
    const report = await ociFsck(repo);
    assert.equal(report.problems.map(describeOciProblem), [`fsck: layer-ref-missing: no-layer-ref: ${docs.diffIds[0]}`]);
  });
  await rm(join(ctx.dir ?? '', 'repo'), { recursive: true, force: true });
  await withRepo(ctx, async (repo) => {
    const { tag, refs } = await importLayers(repo, 'img', [layerTar()]);
    const docs = ociDocuments([layerTar()]);
    // A config stream claiming another digest than its bytes have.
    const other = Buffer.from(docs.config.toString().replace('"amd64"', '"arm64"'));
    const writer = repo.streams.writer(CONTENT_TYPES.ociConfig);
    for (const r of refs) writer.addNamedRef(r.diffId, objectIdBytes(r.streamId));
    const stored = await repo.objects.ensureObject(other);
    await writer.writeExternal(objectIdBytes(stored.id), other.length);
    const configStream = await repo.streams.commit(await writer.finish(), `oci-config-${sha256Digest(docs.config)}-bogus`);
    await writeManifestStream(repo, docs.manifest, sha256Digest(docs.manifest), { digest: sha256Digest(docs.config), streamId: configStream }, refs);
    const [problem] = (await ociFsck(repo, { image: tag })).problems;
    assert.is(problem?.kind, 'config-digest-mismatch');
    assert.match(problem?.detail ?? '', `expected ${sha256Digest(docs.config)}, got ${sha256Digest(other)}`);
  });
});

test.run();
