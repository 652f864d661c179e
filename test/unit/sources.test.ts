/**
 * The pieces of a pull without a container engine that need no network:
 * platforms and which index entry serves one, document classification,
 * source references, archives indexed in place (links between members,
 * `..` names, truncation), blobs checked as they stream, and layer
 * decompression with its bomb limit.
 */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decompressLayer, detectCompression } from '../../src/decompress/index.js';
import { IntegrityError, InputError, NotFoundError, UnsupportedError, UsageError } from '../../common/index.js';
import {
  choosePlatform, classifyDocument, formatPlatform, hostPlatform, parsePlatform, splitPathTag, TarArchive, VerifiedBlob, type IndexEntry,
} from '../../src/source/index.js';
import { rejects } from '../support/rejects.js';
import { dir, file, hardlink, symlink, tarBytes } from '../support/tar-writer.js';
import { withTempDir } from '../support/tmp.js';

const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of source) chunks.push(c);
  return Buffer.concat(chunks);
}

async function* chunked(bytes: Buffer, size = 1000): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

const entry = (digest: string, platform?: IndexEntry['platform'], annotations: Record<string, string> = {}): IndexEntry => ({
  mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1, platform, annotations,
});

test('platforms: parsing, the host default is always linux, variants', () => {
  assert.equal(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.equal(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64', variant: undefined });
  for (const bad of ['linux', 'linux/', 'a/b/c/d', 'Linux/AMD64']) assert.throws(() => parsePlatform(bad), (e: unknown) => e instanceof UsageError);
  assert.is(hostPlatform().os, 'linux');
  assert.is(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' }), 'linux/arm/v7');
});

test('the index entry for a platform: exact variant first, arm64 means v8, no match names what there is', () => {
  const d = (c: string): string => `sha256:${c.repeat(64)}`;
  const entries = [
    entry(d('1'), { os: 'linux', architecture: 'amd64' }),
    entry(d('2'), { os: 'linux', architecture: 'arm', variant: 'v6' }),
    entry(d('3'), { os: 'linux', architecture: 'arm', variant: 'v7' }),
    entry(d('4'), { os: 'linux', architecture: 'arm64' }),
    entry(d('5'), { os: 'unknown', architecture: 'unknown' }),
  ];
  const pick = (p: string): string => choosePlatform(entries, parsePlatform(p), 'idx').digest;
  assert.is(pick('linux/amd64'), d('1'));
  assert.is(pick('linux/arm/v7'), d('3'));
  assert.is(pick('linux/arm64'), d('4'));
  assert.is(pick('linux/arm64/v8'), d('4'));
  assert.is(pick('linux/arm'), d('2'));
  const err = (() => {
    try {
      pick('linux/s390x');
    } catch (e) {
      return e;
    }
    return undefined;
  })();
  assert.ok(err instanceof NotFoundError);
  assert.match(err.message, 'idx: no image for platform linux/s390x in the index (it has: linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64, unknown/unknown)');
});

test('documents: manifests and indexes by content and media type; schema 1 and unknown types refused', () => {
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: `sha256:${'0'.repeat(64)}`, size: 2 }, layers: [] }));
  assert.is(classifyDocument(manifest, undefined, 'm').kind, 'manifest');
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json', manifests: [] }));
  assert.is(classifyDocument(index, undefined, 'i').kind, 'index');
  assert.throws(() => classifyDocument(Buffer.from('{"schemaVersion":1,"fsLayers":[]}'), undefined, 'old'), (e: unknown) => e instanceof UnsupportedError && /schema 1/.test(e.message));
  assert.throws(
    () => classifyDocument(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.example.thing+json', layers: [], config: {} })), undefined, 'odd'),
    (e: unknown) => e instanceof UnsupportedError && e.message === 'odd: unknown media type application/vnd.example.thing+json: neither an image manifest nor an image index',
  );
  assert.throws(() => classifyDocument(Buffer.from('[1]'), undefined, 'arr'), /arr: is not a JSON object/);
  assert.throws(() => classifyDocument(Buffer.from('{"manifests":[{"digest":"x","size":1}]}'), undefined, 'bad'), /manifests\[0\]\.digest is missing or invalid/);
});

test('oci: and oci-archive: references: a tag after the last slash', () => {
  assert.equal(splitPathTag('/srv/layout:1.0'), { path: '/srv/layout', tag: '1.0' });
  assert.equal(splitPathTag('/srv/lay:out/dir'), { path: '/srv/lay:out/dir', tag: undefined });
  assert.equal(splitPathTag('relative'), { path: 'relative', tag: undefined });
});

test('archives: members by offset, links followed inside, never outside; ".." and truncation refused', async () => {
  await withTempDir('archive', async (tmp) => {
    const path = join(tmp, 'a.tar');
    const big = Buffer.alloc(300_000, 7);
    await writeFile(path, tarBytes([dir('d/'), file('./d/big', big), file('small', 'hello'), symlink('d/link', '../small'), hardlink('hard', 'd/big'), symlink('up', '../../etc/passwd')]));
    const archive = await TarArchive.open(path, 'oci-archive:a.tar');
    try {
      assert.equal(archive.names().sort(), ['d', 'd/big', 'd/link', 'hard', 'small', 'up']);
      assert.equal(await archive.read('small', 100), Buffer.from('hello'));
      assert.equal(await archive.read('d/link', 100), Buffer.from('hello'));
      assert.ok((await collect(archive.stream(archive.require('hard')))).equals(big));
      assert.throws(() => archive.member('up'), (e: unknown) => e instanceof InputError && /links outside the archive/.test(e.message));
      assert.is(archive.member('absent'), undefined);
      const tooBig = await rejects(archive.read('d/big', 1000));
      assert.match(String(tooBig), 'member "d/big" is 300000 bytes, more than 1000 allowed');
    } finally {
      await archive.close();
    }
    const evil = join(tmp, 'evil.tar');
    await writeFile(evil, tarBytes([file('blobs/../../../etc/cron.d/x', 'boom')]));
    const dots = await rejects(TarArchive.open(evil, 'oci-archive:evil.tar'));
    assert.ok(dots instanceof InputError);
    assert.is(dots.message, 'oci-archive:evil.tar: member "blobs/../../../etc/cron.d/x" has a ".." component: refusing the archive');
    const cut = join(tmp, 'cut.tar');
    const whole = tarBytes([file('index.json', '{}'), file('blob', big)]);
    await writeFile(cut, whole.subarray(0, 4096));
    const truncated = await rejects(TarArchive.open(cut, 'oci-archive:cut.tar'));
    assert.ok(truncated instanceof InputError);
    assert.match(truncated.message, /oci-archive:cut.tar: the archive is truncated: member "blob" needs \d+ bytes past its end/);
    await writeFile(cut, whole.subarray(0, 700));
    assert.match(String(await rejects(TarArchive.open(cut, 'oci-archive:cut.tar'))), /oci-archive:cut.tar: .*(truncated|ends)/);
    assert.ok((await rejects(TarArchive.open(tmp, 'oci-archive:dir'))) instanceof InputError);
  });
});

test('blobs are checked while they stream: size at once, digest at the end', async () => {
  const data = Buffer.alloc(10_000, 3);
  const d = { digest: sha256(data), size: data.length };
  assert.ok((await collect(new VerifiedBlob(chunked(data), d, 'src'))).equals(data));
  const wrong = Buffer.from(data);
  wrong[5000] = 4;
  const mismatch = await rejects(collect(new VerifiedBlob(chunked(wrong), d, 'src')));
  assert.ok(mismatch instanceof IntegrityError);
  assert.is(mismatch.message, `src: blob ${d.digest}: its bytes have digest ${sha256(wrong)}, not ${d.digest}`);
  assert.match(String(await rejects(collect(new VerifiedBlob(chunked(Buffer.concat([data, data])), d, 'src')))), `is larger than the ${data.length} bytes its descriptor says`);
  assert.match(String(await rejects(collect(new VerifiedBlob(chunked(data.subarray(0, 9000)), d, 'src')))), 'ended after 9000 of its 10000 bytes');
  // A consumer that gave up early: settle reads the rest and tells the blob's fault.
  const blob = new VerifiedBlob(chunked(wrong), d, 'src');
  for await (const chunk of blob) if (chunk.length > 0) break;
  assert.ok((await blob.settle()) instanceof IntegrityError);
  const good = new VerifiedBlob(chunked(data), d, 'src');
  for await (const chunk of good) if (chunk.length > 0) break;
  assert.is(await good.settle(), undefined);
  assert.throws(() => new VerifiedBlob(chunked(data), { digest: `md5:${'0'.repeat(32)}`, size: 1 }, 'src'), (e: unknown) => e instanceof UnsupportedError);
});

test('layers are decompressed by what they hold; gzip members back to back; corrupt and bomb input refused', async () => {
  const tar = tarBytes([file('a', 'x'.repeat(5000))]);
  assert.is(detectCompression(gzipSync(tar)), 'gzip');
  assert.is(detectCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), 'zstd');
  assert.is(detectCompression(Buffer.from([0x5e, 0x2a, 0x4d, 0x18])), 'zstd');
  assert.is(detectCompression(tar), 'none');
  const opts = { input: 'layer', compressedSize: 1 << 20 };
  assert.ok((await collect(decompressLayer(chunked(tar), opts))).equals(tar));
  const two = Buffer.concat([gzipSync(tar.subarray(0, 1000)), gzipSync(tar.subarray(1000))]);
  assert.ok((await collect(decompressLayer(chunked(two, 7), opts))).equals(tar));
  const corrupt = gzipSync(tar);
  corrupt[20] = (corrupt[20] ?? 0) ^ 0xff;
  const bad = await rejects(collect(decompressLayer(chunked(corrupt), opts)));
  assert.ok(bad instanceof InputError && bad.message.startsWith('layer: gzip data is corrupt or truncated'), String(bad));
  const cut = gzipSync(tar).subarray(0, 40);
  assert.match(String(await rejects(collect(decompressLayer(chunked(cut), opts)))), /gzip data is corrupt or truncated \(unexpected end of file\)/);
  // 70 MiB of zeros in ~70 KiB: over 256 times its size once past the floor.
  const bomb = gzipSync(Buffer.alloc(70 << 20), { level: 9 });
  const err = await rejects(collect(decompressLayer(chunked(bomb, 65536), { input: 'layer sha256:b', compressedSize: bomb.length })));
  assert.ok(err instanceof InputError);
  assert.match(err.message, `layer sha256:b: gzip data expands beyond ${64 << 20} bytes, more than 256 times its ${bomb.length} compressed bytes`);
  // A larger limit lets the same blob through.
  const size = (await collect(decompressLayer(chunked(bomb, 65536), { input: 'l', compressedSize: bomb.length, maxExpansion: 2000 }))).length;
  assert.is(size, 70 << 20);
});

test.run();
