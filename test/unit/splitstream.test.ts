/**
 * Splitstreams against composefs-rs's golden vectors: the writer's bytes
 * and object IDs, the reader's decoding of both header layouts, and bounded
 * memory over a 200 MB stream.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { digestBytes } from '../../src/fsverity/digest.js';
import {
  CONTENT_TYPES,
  SplitstreamWriter,
  openSplitstream,
  reassemble,
  type SplitstreamChunk,
  type SplitstreamReader,
} from '../../src/index.js';
import { describeContentType } from '../../src/splitstream/index.js';
import { splitstreamVectors, toOldLayout, type SplitVector } from '../support/splitstream-vectors.js';
import { withTempDir } from '../support/tmp.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Replays a vector's script through the writer; `await` toggles whether calls are awaited one by one. */
async function writeVector(v: SplitVector, dir: string, inlineMemoryLimit?: number, awaitEach = true): Promise<Buffer> {
  const writer = new SplitstreamWriter({ hashAlg: v.hashAlg, contentType: v.contentType, tmpDir: dir, inlineMemoryLimit });
  const pending: Promise<void>[] = [];
  for (const step of v.steps) {
    let call: Promise<void> | undefined;
    if (step.kind === 'inline') call = writer.writeInline(step.data);
    else if (step.kind === 'external') call = writer.writeExternal(step.id, step.content.length);
    else writer.addNamedRef(step.name, step.id);
    if (call && awaitEach) await call;
    else if (call) pending.push(call);
  }
  await Promise.all(pending);
  const { path, size } = await writer.finish();
  const file = await readFile(path);
  assert.is(size, file.length);
  assert.equal(await readdir(dir), [path.slice(dir.length + 1)], `${v.name}: only the finished file is left`);
  await rm(path);
  return v.layout === 'old' ? toOldLayout(file) : file;
}

function checkFile(v: SplitVector, file: Buffer, how: string): void {
  assert.is(file.length, v.fileSize, `${v.name} ${how}: size`);
  if (v.file) {
    const at = file.findIndex((b, i) => b !== v.file?.[i]);
    assert.is(at, -1, `${v.name} ${how}: first difference at byte ${at}`);
  }
  assert.is(sha256(file), v.fileSha256, `${v.name} ${how}: sha256`);
  assert.is(hex(digestBytes(file, { hashAlg: v.hashAlg })), v.objectId, `${v.name} ${how}: object ID`);
}

test('there are vectors of every kind, both algorithms', () => {
  const names = splitstreamVectors().map((v) => v.name);
  for (const kind of ['inline-only', 'mixed', 'external-only', 'named-refs', 'manifest', 'empty', 'named-only', 'large', 'old-layout-mixed']) {
    for (const alg of ['sha256', 'sha512']) assert.ok(names.includes(`${kind}-${alg}`), `${kind}-${alg}`);
  }
});

test('content types are composefs-oci tags', () => {
  assert.is(CONTENT_TYPES.ociLayer, 8243128152309195631n);
  assert.is(describeContentType(CONTENT_TYPES.ociConfig), '0x67666e6f6369636f ("ociconfg")');
  assert.is(describeContentType(0n), '0x0');
  const byVector = new Set(splitstreamVectors().map((v) => v.contentType));
  for (const ct of Object.values(CONTENT_TYPES)) assert.ok(byVector.has(ct));
});

test('the writer reproduces composefs-rs bytes and object IDs', async () => {
  await withTempDir('ss-write', async (dir) => {
    for (const v of splitstreamVectors()) {
      checkFile(v, await writeVector(v, dir), 'default memory limit');
      // A limit of 1000 bytes sends most runs through the spill file.
      checkFile(v, await writeVector(v, dir, 1000), 'spilling runs over 1000 bytes');
      if (v.fileSize < 100_000) {
        checkFile(v, await writeVector(v, dir, 0, false), 'every run spilled, calls not awaited');
      }
    }
  });
});

/** Objects of all vectors, as files named by hex ID (per algorithm). */
async function objectStore(dir: string): Promise<(id: Uint8Array) => ReturnType<typeof open>> {
  const written = new Set<string>();
  for (const v of splitstreamVectors()) {
    for (const s of v.steps) {
      if (s.kind !== 'external' || written.has(hex(s.id))) continue;
      written.add(hex(s.id));
      await writeFile(join(dir, hex(s.id)), s.content);
    }
  }
  return (id) => open(join(dir, hex(id)), 'r');
}

class HashSink extends Writable {
  readonly hash = createHash('sha256');
  size = 0;
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    done();
  }
}

async function vectorFile(v: SplitVector, dir: string): Promise<Buffer> {
  if (v.file) return v.file;
  const scratch = await mkdtemp(join(dir, 'write-'));
  const file = await writeVector(v, scratch);
  await rm(scratch, { recursive: true });
  return file;
}

async function allChunks(reader: SplitstreamReader): Promise<SplitstreamChunk[]> {
  const chunks: SplitstreamChunk[] = [];
  for await (const c of reader.chunks()) chunks.push(c);
  return chunks;
}

test('the reader decodes every vector to its script', async () => {
  await withTempDir('ss-read', async (dir) => {
    const openObject = await objectStore(dir);
    for (const v of splitstreamVectors()) {
      const path = join(dir, `${v.name}.splitstream`);
      await writeFile(path, await vectorFile(v, dir));
      const handle = await open(path, 'r');
      try {
        const reader = await openSplitstream(handle, v.name, { contentType: v.contentType, hashAlg: v.hashAlg });
        const { info } = reader;
        assert.is(info.hashAlg, v.hashAlg);
        assert.is(info.layout, v.layout);
        assert.is(info.contentType, v.contentType);
        assert.is(info.streamSize, v.streamSize);
        const externals = v.steps.flatMap((s) => (s.kind === 'external' ? [hex(s.id)] : []));
        assert.equal(info.objectRefs.map(hex), [...new Set(externals)], `${v.name}: object refs in first-use order`);
        const named = new Map<string, string>();
        for (const s of v.steps) if (s.kind === 'named') named.set(s.name, hex(s.id));
        assert.equal(new Map([...info.namedRefs].map(([k, id]) => [k, hex(id)])), named, `${v.name}: named refs`);
        const chunks = await allChunks(reader);
        assert.equal(chunks.flatMap((c) => (c.kind === 'external' ? [hex(c.objectId)] : [])), externals, `${v.name}: externals`);
        // chunks() reads the stream afresh each time: twice for small ones.
        for (let round = 0; round < (v.fileSize < 100_000 ? 2 : 1); round++) {
          const sink = new HashSink();
          assert.is(await reassemble(reader, openObject, sink), v.streamSize);
          assert.is(sink.hash.digest('hex'), v.contentSha256, `${v.name}: content`);
        }
      } finally {
        await handle.close();
      }
    }
  });
});

test('old and current header layouts decode to the same content', async () => {
  await withTempDir('ss-layout', async (dir) => {
    const all = splitstreamVectors();
    const olds = all.filter((v) => v.layout === 'old');
    assert.ok(olds.length >= 4);
    for (const old of olds) {
      const current = all.find((v) => v.name === old.name.replace('old-layout-', ''));
      if (!current?.file || !old.file) throw new Error(`${old.name}: no current counterpart stored`);
      assert.equal(toOldLayout(current.file), old.file);
      const decoded = [];
      for (const [name, bytes] of [['old', old.file], ['current', current.file]] as const) {
        await writeFile(join(dir, name), bytes);
        const handle = await open(join(dir, name), 'r');
        try {
          const reader = await openSplitstream(handle, name);
          const chunks = (await allChunks(reader)).map((c) => (c.kind === 'inline' ? hex(c.data) : `#${c.index}`));
          const { layout, ...rest } = reader.info;
          decoded.push({ layout, rest, chunks });
        } finally {
          await handle.close();
        }
      }
      assert.is(decoded[0]?.layout, 'old');
      assert.is(decoded[1]?.layout, 'current');
      assert.equal(decoded[0]?.rest, decoded[1]?.rest);
      assert.equal(decoded[0]?.chunks, decoded[1]?.chunks);
    }
  });
});

/** Peak RSS growth over `base` while `body` runs, sampled by `sample()` calls. */
function rssProbe(): { sample: () => void; peakGrowth: () => number } {
  const base = process.memoryUsage().rss;
  let peak = base;
  return {
    sample: () => {
      peak = Math.max(peak, process.memoryUsage().rss);
    },
    peakGrowth: () => peak - base,
  };
}

test('200 MB of inline data streams through in bounded memory', async () => {
  const MiB = 1 << 20;
  const pieces = 200;
  await withTempDir('ss-big', async (dir) => {
    // Warm up: the core's zstd contexts exist once the first stream is done.
    const warm = new SplitstreamWriter({ hashAlg: 'sha512', contentType: CONTENT_TYPES.ociLayer, tmpDir: dir });
    await warm.writeInline(randomBytes(2 * MiB));
    await rm((await warm.finish()).path);

    const probe = rssProbe();
    const hash = createHash('sha256');
    const writer = new SplitstreamWriter({ hashAlg: 'sha512', contentType: CONTENT_TYPES.ociLayer, tmpDir: dir });
    const piece = Buffer.alloc(MiB);
    for (let i = 0; i < pieces; i++) {
      // A new 64 KiB random block per MiB, repeated: ~6% of it incompressible.
      const block = randomBytes(64 * 1024);
      for (let at = 0; at < MiB; at += block.length) block.copy(piece, at);
      hash.update(piece);
      await writer.writeInline(piece);
      probe.sample();
    }
    const { path, size } = await writer.finish();
    probe.sample();
    const writeGrowth = probe.peakGrowth();

    const handle = await open(path, 'r');
    try {
      const reader = await openSplitstream(handle, 'big');
      assert.is(reader.info.streamSize, BigInt(pieces * MiB));
      const back = createHash('sha256');
      let total = 0;
      let events = 0;
      for await (const chunk of reader.chunks()) {
        if (chunk.kind !== 'inline') throw new Error('unexpected external chunk');
        back.update(chunk.data);
        total += chunk.data.length;
        if (++events % 64 === 0) probe.sample();
      }
      assert.is(total, pieces * MiB);
      assert.is(back.digest('hex'), hash.digest('hex'));
    } finally {
      await handle.close();
      await rm(path);
    }
    const growth = probe.peakGrowth();
    console.log(`  200 MB stream: file ${(size / MiB).toFixed(1)} MiB, peak RSS growth ${(writeGrowth / MiB).toFixed(1)} MiB writing, ${(growth / MiB).toFixed(1)} MiB overall`);
    // Holding the run (or the output) in memory would cost 200 MiB or more.
    assert.ok(growth < 96 * MiB, `peak RSS grew by ${(growth / MiB).toFixed(1)} MiB`);
  });
});

test.run();
