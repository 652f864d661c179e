/**
 * A layer blob whose digest is its diff_id (an uncompressed layer) is
 * hashed once, by the blob's own check, which must still refuse damage
 * before anything is named; such a blob that turns out to be compressed
 * is refused (its tar could not have that digest).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { IntegrityError } from '../../common/index.js';
import { importBlobLayer } from '../../src/oci/blob-layer.js';
import { layerContentId, sha256Digest } from '../../src/oci/index.js';
import { Repository } from '../../src/repository/index.js';
import type { BlobDescriptor, ImageSource } from '../../src/source/index.js';
import { rejects } from '../support/rejects.js';
import { dir, file, tarBytes } from '../support/tar-writer.js';

const test = suite<{ dir: string; repo: Repository }>('blob layer', { dir: '' } as { dir: string; repo: Repository });

test.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'cfskit-blob-layer-'));
  ctx.repo = await Repository.init(join(ctx.dir, 'repo'), { insecure: true });
});

test.after.each(async (ctx) => {
  await ctx.repo.close();
  await rm(ctx.dir, { recursive: true, force: true });
});

const TAR = tarBytes([dir('usr/'), file('usr/a', 'a'.repeat(5000)), file('usr/b', 'b')]);

/** A source serving `bytes` for any blob, in pieces. */
function sourceOf(bytes: Buffer): ImageSource {
  return {
    name: 'test-source',
    resolve: () => Promise.reject(new Error('not used')),
    async *blob() {
      for (let at = 0; at < bytes.length; at += 1000) yield bytes.subarray(at, at + 1000);
    },
    close: () => Promise.resolve(),
  };
}

test('an uncompressed blob named by its diff_id is imported', async (ctx) => {
  const diffId = sha256Digest(TAR);
  const descriptor: BlobDescriptor = { digest: diffId, size: TAR.length };
  const { streamId } = await importBlobLayer(ctx.repo, sourceOf(TAR), descriptor, diffId);
  assert.is(await ctx.repo.streams.has(layerContentId(diffId)), streamId);
});

test('damaged bytes under a diff_id digest are refused by the blob check, nothing named', async (ctx) => {
  const diffId = sha256Digest(TAR);
  const damaged = Buffer.from(TAR);
  damaged[1024] = 'z'.charCodeAt(0); // usr/a's content: the tar still parses
  const err = await rejects(importBlobLayer(ctx.repo, sourceOf(damaged), { digest: diffId, size: TAR.length }, diffId));
  assert.instance(err, IntegrityError);
  assert.match((err as Error).message, `blob ${diffId}: its bytes have digest ${sha256Digest(damaged)}`);
  assert.is(await ctx.repo.streams.has(layerContentId(diffId)), undefined);
});

test('a compressed blob whose digest is said to be the diff_id is refused', async (ctx) => {
  const gz = gzipSync(TAR);
  const digest = sha256Digest(gz);
  const err = await rejects(importBlobLayer(ctx.repo, sourceOf(gz), { digest, size: gz.length }, digest));
  assert.instance(err, IntegrityError);
  assert.match((err as Error).message, "its blob's digest is the diff_id, but the blob is gzip-compressed");
  assert.is(await ctx.repo.streams.has(layerContentId(digest)), undefined);
});

test('a compressed blob: its digest and its tar`s diff_id both checked', async (ctx) => {
  const gz = gzipSync(TAR);
  const wrongDiffId = sha256Digest(Buffer.from('another tar'));
  const err = await rejects(importBlobLayer(ctx.repo, sourceOf(gz), { digest: sha256Digest(gz), size: gz.length }, wrongDiffId));
  assert.instance(err, IntegrityError);
  assert.match((err as Error).message, `not the diff_id ${wrongDiffId}`);
  const ok = await importBlobLayer(ctx.repo, sourceOf(gz), { digest: sha256Digest(gz), size: gz.length }, sha256Digest(TAR));
  assert.is(await ctx.repo.streams.has(layerContentId(sha256Digest(TAR))), ok.streamId);
});

test.run();
