/**
 * Malformed and hostile splitstreams through the TypeScript reader, and
 * writer misuse: each gets a typed error naming the stream and the problem.
 */
import { mkdir, open, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CONTENT_TYPES,
  InputError,
  IntegrityError,
  SplitstreamWriter,
  SystemError,
  UsageError,
  openSplitstream,
  reassemble,
  type SplitstreamReader,
} from '../../src/index.js';
import type { SplitstreamExpectations } from '../../src/splitstream/index.js';
import { splitstreamVectors } from '../support/splitstream-vectors.js';
import { withTempDir } from '../support/tmp.js';

/** mixed-sha512: object_refs 112..304 (3 digests), named_refs 304..313, stream 313..1740. */
function sample(): Buffer {
  const v = splitstreamVectors().find((x) => x.name === 'mixed-sha512');
  if (!v?.file) throw new Error('mixed-sha512 vector missing');
  assert.is(v.file.length, 1740);
  return Buffer.from(v.file);
}

const INFO = 32;
const OBJECT_REFS_END = INFO + 24;
const STREAM_END = INFO + 40;
const NAMED_REFS_START = INFO + 48;
const STREAM_SIZE = INFO + 72;

function patched(at: number, value: bigint): Buffer {
  const f = sample();
  f.writeBigUInt64LE(value, at);
  return f;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const sink = (): Writable => new Writable({ write: (_c, _e, done) => done() });

/** Opens `bytes` as a file named NAME and hands the reader to `body`. */
async function withStream<T>(bytes: Buffer, expect: SplitstreamExpectations, body: (r: SplitstreamReader, dir: string) => Promise<T>): Promise<T> {
  return withTempDir('ss-bad', async (dir) => {
    const path = join(dir, 'bad');
    await writeFile(path, bytes);
    const handle = await open(path, 'r');
    try {
      return await body(await openSplitstream(handle, 'NAME', expect), dir);
    } finally {
      await handle.close();
    }
  });
}

async function rejects(promise: Promise<unknown>, cls: new (...args: never[]) => Error, message: string): Promise<void> {
  try {
    await promise;
  } catch (err) {
    assert.instance(err, cls);
    assert.is((err as Error).message, message);
    return;
  }
  assert.unreachable(`expected ${cls.name}: ${message}`);
}

async function drain(reader: SplitstreamReader): Promise<void> {
  for await (const chunk of reader.chunks()) void chunk;
}

const openCases: [string, Buffer, SplitstreamExpectations, string][] = [
  ['short file', sample().subarray(0, 20), {}, 'splitstream is 20 bytes, too short for the 32-byte header'],
  ['bad magic', Buffer.concat([Buffer.from('Splitstream'), sample().subarray(11)]), {}, 'not a splitstream (no "SplitStream" magic at offset 0 or 18)'],
  ['other algorithm', sample(), { hashAlg: 'sha256' }, 'splitstream uses sha512 object IDs, expected sha256'],
  [
    'other content type',
    sample(),
    { contentType: CONTENT_TYPES.ociConfig },
    'splitstream content type is 0x726579616c69636f ("ocilayer"), expected 0x67666e6f6369636f ("ociconfg")',
  ],
  ['refs not whole digests', patched(OBJECT_REFS_END, 303n), {}, 'splitstream object_refs range 112..303 (191 bytes) is not a multiple of 64 bytes (sha512 digests)'],
  ['stream past the end', patched(STREAM_END, 1741n), {}, 'splitstream stream range 313..1741 runs past the end of the 1740-byte file'],
  ['overlapping ranges', patched(NAMED_REFS_START, 300n), {}, 'splitstream named_refs range 300..313 overlaps the object_refs range 112..304'],
  ['corrupt named refs', Buffer.concat([sample().subarray(0, 304), Buffer.from('xxxxxxxxx'), sample().subarray(313)]), {}, ''],
];

test('bad headers, info sections and named refs are refused on open', async () => {
  for (const [what, bytes, expect, message] of openCases) {
    try {
      await withStream(bytes, expect, async () => undefined);
      assert.unreachable(what);
    } catch (err) {
      assert.instance(err, InputError, what);
      assert.is((err as InputError).input, 'NAME');
      if (message) assert.is((err as Error).message, `NAME: ${message}`, what);
      else assert.match((err as Error).message, /^NAME: splitstream named refs: corrupt or unsupported zstd data near byte 0: /, what);
    }
  }
});

test('a directory is not a splitstream', async () => {
  await withTempDir('ss-dir', async (dir) => {
    const handle = await open(dir, 'r');
    try {
      await rejects(openSplitstream(handle, 'DIR'), InputError, 'DIR: not a regular file');
    } finally {
      await handle.close();
    }
  });
});

test('bad streams fail while iterating, with the offset', async () => {
  const garbage = sample();
  garbage.write('not zstd!', 313, 'latin1');
  await withStream(garbage, {}, (r) =>
    rejects(drain(r), InputError, 'NAME: splitstream stream: corrupt or unsupported zstd data near compressed byte 0: Unknown frame descriptor'),
  );
  await withStream(patched(STREAM_END, 1737n), {}, (r) =>
    rejects(drain(r), InputError, 'NAME: splitstream stream: zstd data is truncated (the frame is incomplete after 1424 compressed bytes)'),
  );
  // The chunks contradict the recorded stream_size: an integrity failure,
  // as the same lie found while reassembling is.
  await withStream(patched(STREAM_SIZE, 100n), {}, (r) =>
    rejects(
      drain(r),
      IntegrityError,
      'NAME: splitstream stream: inline chunk of 512 bytes at decompressed offset 0 exceeds the 100 bytes left of the stream size 100',
    ),
  );
  // Only the first object ref left: the second external chunk points past it.
  await withStream(patched(OBJECT_REFS_END, 176n), {}, (r) =>
    rejects(
      drain(r),
      InputError,
      'NAME: splitstream stream: external chunk at decompressed offset 1048 refers to object 1, but there are only 1 object refs',
    ),
  );
});

test('reassembly checks the total against stream_size', async () => {
  const v = splitstreamVectors().find((x) => x.name === 'mixed-sha512');
  if (!v) throw new Error('vector missing');
  const objects = new Map(v.steps.flatMap((s) => (s.kind === 'external' ? [[hex(s.id), s.content] as const] : [])));
  const store = async (dir: string, grow: number): Promise<(id: Uint8Array) => ReturnType<typeof open>> => {
    await mkdir(join(dir, 'objects'));
    for (const [id, content] of objects) await writeFile(join(dir, 'objects', id), Buffer.concat([content, Buffer.alloc(grow)]));
    return (id) => open(join(dir, 'objects', hex(id)), 'r');
  };
  await withStream(patched(STREAM_SIZE, 212136n), {}, async (r, dir) =>
    rejects(reassemble(r, await store(dir, 0), sink()), IntegrityError, "NAME: reassembled 212135 bytes, but the splitstream's stream_size says 212136"),
  );
  // Every object 200 kB too long: the one that crosses stream_size is named.
  let total = 0;
  const culprit = v.steps.find((s) => {
    total += s.kind === 'inline' ? s.data.length : s.kind === 'external' ? s.content.length + 200_000 : 0;
    return total > 212135;
  });
  if (culprit?.kind !== 'external') throw new Error('expected an external to overflow');
  await withStream(sample(), {}, async (r, dir) =>
    rejects(
      reassemble(r, await store(dir, 200_000), sink()),
      IntegrityError,
      `NAME: object ${hex(culprit.id)} makes the stream longer than its stream_size of 212135 bytes`,
    ),
  );
});

test('writer misuse is a UsageError', async () => {
  await withTempDir('ss-misuse', async (dir) => {
    const opts = { hashAlg: 'sha512', contentType: 0n, tmpDir: dir } as const;
    assert.throws(() => new SplitstreamWriter({ ...opts, hashAlg: 'md5' as 'sha512' }), (e: unknown) => e instanceof UsageError);
    assert.throws(() => new SplitstreamWriter({ ...opts, contentType: -1n }), (e: unknown) => e instanceof UsageError);
    const w = new SplitstreamWriter(opts);
    await rejects(w.writeExternal(new Uint8Array(32), 1), UsageError, 'object ID is 32 bytes, expected 64');
    await rejects(w.writeExternal(new Uint8Array(64), -1), UsageError, 'invalid external object size -1');
    assert.throws(
      () => w.addNamedRef('a\0b', new Uint8Array(64)),
      (e: unknown) => e instanceof UsageError && e.message === 'splitstream writer: named ref "a\\0b" contains a NUL byte',
    );
    assert.throws(
      () => w.addNamedRef('a', new Uint8Array(3)),
      (e: unknown) => e instanceof UsageError && e.message === 'splitstream writer: stream ID is 3 bytes, expected a 64-byte sha512 digest',
    );
    await w.writeInline(Buffer.from('fine'));
    const { path } = await w.finish();
    await rejects(w.writeInline(Buffer.from('late')), UsageError, 'splitstream writer is already finished or aborted');
    assert.throws(() => w.addNamedRef('late', new Uint8Array(64)), (e: unknown) => e instanceof UsageError);
    await w.abort();
    assert.equal(await readdir(dir), [path.slice(dir.length + 1)], 'abort after finish leaves the file to the caller');
  });
});

test('abort removes every temp file', async () => {
  await withTempDir('ss-abort', async (dir) => {
    const w = new SplitstreamWriter({ hashAlg: 'sha256', contentType: CONTENT_TYPES.ociLayer, tmpDir: dir, inlineMemoryLimit: 0 });
    await w.writeInline(Buffer.alloc(3 << 20, 7));
    await w.writeExternal(new Uint8Array(32), 10);
    await w.writeInline(Buffer.alloc(3 << 20, 9));
    assert.is((await readdir(dir)).length, 2, 'a stream file and a spilled run');
    await w.abort();
    assert.equal(await readdir(dir), []);
    await rejects(w.finish(), UsageError, 'splitstream writer is already finished or aborted');
  });
});

test('an I/O failure fails the writer and later calls alike', async () => {
  await withTempDir('ss-io', async (dir) => {
    const tmpDir = join(dir, 'missing');
    const w = new SplitstreamWriter({ hashAlg: 'sha256', contentType: 0n, tmpDir, inlineMemoryLimit: 0 });
    const first = w.writeInline(Buffer.from('spills at once'));
    const second = w.writeInline(Buffer.from('queued behind it'));
    for (const call of [first, second]) {
      try {
        await call;
        assert.unreachable();
      } catch (err) {
        assert.instance(err, SystemError);
        assert.is((err as SystemError).errno, 'ENOENT');
        assert.ok((err as SystemError).message.startsWith(`${tmpDir}/.cfskit-splitstream-`));
      }
    }
    await w.abort();
  });
});

test.run();
