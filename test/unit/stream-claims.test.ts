/**
 * A stream's name claims its content (`oci-layer-<diff_id>` reassembles to
 * a tar whose sha256 is the diff_id) and its header claims its size and
 * type. Streams altered after import — object refs swapped, inline bytes
 * changed, content doubled, stream_size off, trailing bytes, the wrong
 * content type, a tag at a layer — are caught: `cat` and `oci layer` end
 * with an error (non-zero exit) once they have written what they could,
 * and fsck names each problem.
 */
import { mkdtemp, readFile, readdir, readlink, rm, symlink, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IntegrityError } from '../../common/index.js';
import { copyImage, layerContentId, sha256Digest } from '../../src/oci/index.js';
import { Repository, fsck, objectRelPath, type FsckReport } from '../../src/repository/index.js';
import { CONTENT_TYPES, type SplitstreamChunk } from '../../src/splitstream/index.js';
import { cfskit } from '../support/cli.js';
import { importLayers } from '../support/oci-import.js';
import { ociDocuments } from '../support/oci-image-fixtures.js';
import { writeConfigStream, writeManifestStream } from '../../src/oci/image-streams.js';
import { rejects } from '../support/rejects.js';
import { dir, file, tarBytes } from '../support/tar-writer.js';

interface Ctx {
  dir: string;
  repo: Repository;
  diffId: string;
  /** The layer stream's chunks as imported. */
  chunks: SplitstreamChunk[];
}

const test = suite<Ctx>('stream claims', {} as Ctx);

const LAYER = tarBytes([dir('usr/'), file('usr/a', 'a'.repeat(300)), file('usr/b', 'b'.repeat(500)), file('usr/small', 'tiny')]);

test.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'cfskit-claims-'));
  ctx.repo = await Repository.init(join(ctx.dir, 'repo'), { insecure: true });
  await importLayers(ctx.repo, 'image', [LAYER]);
  ctx.diffId = sha256Digest(LAYER);
  const stream = await ctx.repo.streams.open(layerContentId(ctx.diffId));
  ctx.chunks = [];
  try {
    for await (const chunk of stream.reader.chunks()) ctx.chunks.push(chunk);
  } finally {
    await stream.close();
  }
});

test.after.each(async (ctx) => {
  await ctx.repo.close();
  await rm(ctx.dir, { recursive: true, force: true });
});

/** Re-points streams/<contentId> at a stream written from `chunks`. */
async function replaceStream(ctx: Ctx, contentId: string, chunks: readonly SplitstreamChunk[], contentType = CONTENT_TYPES.ociLayer): Promise<void> {
  const writer = ctx.repo.streams.writer(contentType);
  for (const chunk of chunks) {
    if (chunk.kind === 'inline') await writer.writeInline(chunk.data);
    else await writer.writeExternal(chunk.objectId, (await readFile(ctx.repo.objects.pathOf(Buffer.from(chunk.objectId).toString('hex')))).length);
  }
  const { id } = await ctx.repo.objects.adoptFile(await writer.finish());
  await relink(ctx, contentId, id);
}

async function relink(ctx: Ctx, contentId: string, id: string): Promise<void> {
  const link = join(ctx.repo.path, 'streams', contentId);
  await unlink(link);
  await symlink(`../${objectRelPath(id)}`, link);
}

/** Re-points the layer stream at a copy of its file with `edit` applied to the bytes. */
async function patchStream(ctx: Ctx, edit: (bytes: Buffer) => Buffer): Promise<void> {
  const contentId = layerContentId(ctx.diffId);
  const target = await readlink(join(ctx.repo.path, 'streams', contentId));
  const bytes = edit(Buffer.from(await readFile(join(ctx.repo.path, 'streams', target))));
  const { id } = await ctx.repo.objects.ensureObject(bytes);
  await relink(ctx, contentId, id);
}

/** The info section starts where the header's info range says (current layout). */
const infoAt = (bytes: Buffer): number => Number(bytes.readBigUInt64LE(16));

function sink(): { out: Writable; bytes: () => number } {
  let n = 0;
  const out = new Writable({
    write(chunk: Buffer, _e, cb) {
      n += chunk.length;
      cb();
    },
  });
  return { out, bytes: () => n };
}

function kinds(report: FsckReport): string[] {
  return report.problems.map((p) => `${p.kind} ${p.path}`);
}

async function layerRefused(ctx: Ctx, written: number | undefined): Promise<void> {
  const s = sink();
  const err = await rejects(ctx.repo.streams.cat(layerContentId(ctx.diffId), s.out));
  assert.instance(err, IntegrityError);
  assert.match((err as Error).message, `oci-layer-${ctx.diffId}: its content (`);
  assert.match((err as Error).message, 'not the diff_id its name says: the stream is damaged');
  if (written !== undefined) assert.is(s.bytes(), written, 'everything was written before the error');
  const report = await fsck(ctx.repo);
  assert.equal(kinds(report), [`stream-digest-mismatch streams/oci-layer-${ctx.diffId}`]);
  // --metadata-only reads no object's content: the reassembly is not hashed.
  assert.equal(kinds(await fsck(ctx.repo, { metadataOnly: true })), []);
  const cli = await cfskit(['--repo', ctx.repo.path, 'oci', 'layer', ctx.diffId]);
  assert.is(cli.status, 1, cli.stderr);
  assert.match(cli.stderr, 'not the diff_id its name says');
  const cat = await cfskit(['--repo', ctx.repo.path, 'cat', layerContentId(ctx.diffId)]);
  assert.is(cat.status, 1, cat.stderr);
}

test('an untouched layer passes cat, oci layer and fsck', async (ctx) => {
  const s = sink();
  assert.is(await ctx.repo.streams.cat(layerContentId(ctx.diffId), s.out), BigInt(LAYER.length));
  assert.is((await fsck(ctx.repo)).ok, true);
  const cli = await cfskit(['--repo', ctx.repo.path, 'oci', 'layer', ctx.diffId]);
  assert.is(cli.status, 0, cli.stderr);
  assert.ok(cli.stdoutBytes.equals(LAYER));
});

test('object refs swapped', async (ctx) => {
  const externals = ctx.chunks.filter((c) => c.kind === 'external');
  assert.is(externals.length, 2);
  const swapped = ctx.chunks.map((c) => (c === externals[0] ? externals[1] : c === externals[1] ? externals[0] : c)) as SplitstreamChunk[];
  // The two objects differ in size: the stream's size stays, its digest does not.
  await replaceStream(ctx, layerContentId(ctx.diffId), swapped);
  await layerRefused(ctx, undefined);
});

test('inline bytes changed', async (ctx) => {
  const changed = ctx.chunks.map((c, i) => {
    if (i !== 0 || c.kind !== 'inline') return c;
    const data = Buffer.from(c.data);
    data[0] = (data[0] ?? 0) ^ 1;
    return { kind: 'inline', data } as const;
  });
  await replaceStream(ctx, layerContentId(ctx.diffId), changed);
  await layerRefused(ctx, LAYER.length);
});

test('content doubled', async (ctx) => {
  await replaceStream(ctx, layerContentId(ctx.diffId), [...ctx.chunks, ...ctx.chunks]);
  await layerRefused(ctx, 2 * LAYER.length);
});

test('stream_size off by one, or 2^64 - 1', async (ctx) => {
  for (const size of [BigInt(LAYER.length + 1), BigInt(LAYER.length - 1), 2n ** 64n - 1n]) {
    await patchStream(ctx, (bytes) => {
      bytes.writeBigUInt64LE(size, infoAt(bytes) + 72);
      return bytes;
    });
    const report = await fsck(ctx.repo);
    const problem = report.problems.find((p) => p.path === `streams/oci-layer-${ctx.diffId}`);
    assert.ok(problem, `stream_size ${size} is reported`);
    assert.ok(['stream-size-mismatch', 'stream-read-failed'].includes(problem.kind), `${problem.kind}: ${problem.detail}`);
    if (problem.kind === 'stream-size-mismatch') assert.match(problem.detail, `stream_size says ${size} bytes, its chunks make ${LAYER.length}`);
    assert.instance(await rejects(ctx.repo.streams.cat(layerContentId(ctx.diffId), sink().out)), IntegrityError);
  }
});

test('trailing data after the last section', async (ctx) => {
  await patchStream(ctx, (bytes) => Buffer.concat([bytes, Buffer.from('junk')]));
  assert.equal(kinds(await fsck(ctx.repo)), [`stream-trailing-data streams/oci-layer-${ctx.diffId}`]);
});

test('a layer stream typed as a manifest, and a tag pointing at a layer stream', async (ctx) => {
  await patchStream(ctx, (bytes) => {
    bytes.writeBigUInt64LE(CONTENT_TYPES.ociManifest, infoAt(bytes) + 64);
    return bytes;
  });
  await symlink(`../../${layerContentId(ctx.diffId)}`, join(ctx.repo.path, 'streams/refs/oci/at-a-layer'));
  const report = await fsck(ctx.repo);
  assert.equal(kinds(report), [`stream-type-mismatch streams/oci-layer-${ctx.diffId}`, 'ref-not-a-manifest streams/refs/oci/at-a-layer']);
  // oci layer expects a layer's content type.
  const cli = await cfskit(['--repo', ctx.repo.path, 'oci', 'layer', ctx.diffId]);
  assert.is(cli.status, 1);
  assert.match(cli.stderr, 'content type');
});

test('a config stream whose document is not its digest', async (ctx) => {
  const configLink = (await readdir(join(ctx.repo.path, 'streams'))).find((n) => n.startsWith('oci-config-'));
  assert.ok(configLink);
  await replaceStream(ctx, configLink, [{ kind: 'inline', data: Buffer.from('{"rootfs":{"diff_ids":[]}}') }], CONTENT_TYPES.ociConfig);
  const report = await fsck(ctx.repo);
  assert.ok(kinds(report).includes(`stream-digest-mismatch streams/${configLink}`), kinds(report).join('\n'));
});

test('oci copy checks each layer against its diff_id before naming it in the destination', async (ctx) => {
  // A content byte (usr/small's "tiny", inline), so the tar still parses: only its digest tells.
  const changed = ctx.chunks.map((c) => {
    if (c.kind !== 'inline') return c;
    const data = Buffer.from(c.data);
    const at = data.indexOf('tiny');
    if (at >= 0) data[at] = 'T'.charCodeAt(0);
    return { kind: 'inline', data } as const;
  });
  assert.ok(changed.some((c, i) => c.kind === 'inline' && !Buffer.from(c.data).equals(Buffer.from((ctx.chunks[i] as { data: Uint8Array }).data))));
  await replaceStream(ctx, layerContentId(ctx.diffId), changed);
  // The config's ref (which a copy follows) to the damaged stream too, and the manifest's to that config.
  const damaged = await ctx.repo.streams.has(layerContentId(ctx.diffId));
  assert.ok(damaged);
  const docs = ociDocuments([LAYER]);
  const refs = [{ diffId: ctx.diffId, streamId: damaged }];
  const configDigest = sha256Digest(docs.config);
  const configStream = await writeConfigStream(ctx.repo, docs.config, configDigest, refs);
  await writeManifestStream(ctx.repo, docs.manifest, sha256Digest(docs.manifest), { digest: configDigest, streamId: configStream }, refs);
  for (const algorithm of ['fsverity-sha512-12', 'fsverity-sha256-12']) {
    // Same algorithm: objects copied by ID, then the tar hashed; the other: the tar re-imported.
    const dest = await Repository.init(join(ctx.dir, `dest-${algorithm}`), { insecure: true, algorithm });
    try {
      const err = await rejects(copyImage(dest, ctx.repo, 'image', { tag: 'copied' }));
      assert.instance(err, IntegrityError, `${algorithm}: ${String(err)}`);
      assert.match((err as Error).message, `layer ${ctx.diffId}`);
      assert.match((err as Error).message, `not the diff_id ${ctx.diffId}`);
      assert.equal(await readdir(join(dest.path, 'streams')).catch(() => []), [], `${algorithm}: no stream named`);
      assert.is(await dest.streams.has(layerContentId(ctx.diffId)), undefined);
    } finally {
      await dest.close();
    }
  }
});

test.run();
