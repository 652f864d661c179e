/**
 * The wasm tar splitter on real tars: made by tar-stream (ustar, PAX long
 * names, links and xattrs) and by GNU tar in each of its formats (GNU long
 * name and link records, PAX, ustar prefixes, v7), split in random chunkings
 * and joined back byte for byte; plus parser-level checks of base-256 sizes
 * over 8 GiB and of damaged input.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { extract, pack, type Header } from 'tar-stream';
import { InputError } from '../../common/index.js';
import { splitTar, TarSplitter, type TarEntry } from '../../src/tar/split.js';
import { pattern } from '../support/pattern.js';
import { gated, haveTool } from '../support/prereq.js';
import { withTempDir } from '../support/tmp.js';
import { seededRandom } from '../support/random.js';

interface Split {
  rebuilt: Buffer;
  entries: TarEntry[];
  contents: Buffer[];
  ended: boolean;
}

/** Splits `tar` pushed in random chunks and joins the pieces back. */
function splitInChunks(tar: Buffer, seed: number, maxChunk: number): Split {
  const rand = seededRandom(seed);
  using splitter = new TarSplitter('test tar');
  const pieces: Uint8Array[] = [];
  const entries: TarEntry[] = [];
  const contents: Buffer[][] = [];
  let ended = false;
  for (let pos = 0; pos < tar.length; ) {
    const len = 1 + Math.floor(rand() * maxChunk);
    for (const e of splitter.push(tar.subarray(pos, pos + len))) {
      if (e.kind === 'inline') pieces.push(e.bytes);
      else if (e.kind === 'content') {
        pieces.push(e.bytes);
        contents[contents.length - 1]?.push(Buffer.from(e.bytes));
      } else if (e.kind === 'entry') {
        entries.push(e.entry);
        contents.push([]);
      } else ended = true;
    }
    pos += len;
  }
  splitter.finish();
  return { rebuilt: Buffer.concat(pieces), entries, contents: contents.map((c) => Buffer.concat(c)), ended };
}

async function tarStreamTar(fill: (add: (h: Partial<Header> & Pick<Header, 'name'>, body?: Buffer) => void) => void): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve) => p.on('end', () => resolve()));
  fill((h, body) => (body === undefined ? p.entry({ mtime: new Date(0), ...h }) : p.entry({ mtime: new Date(0), ...h }, body)));
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** What tar-stream's own reader sees in `tar`. */
async function tarStreamListing(tar: Buffer): Promise<{ name: string; size: number; type: string; linkname: string | null }[]> {
  const ex = extract();
  const out: { name: string; size: number; type: string; linkname: string | null }[] = [];
  const done = (async () => {
    for await (const entry of ex) {
      out.push({ name: entry.header.name, size: entry.header.size, type: entry.header.type, linkname: entry.header.linkname || null });
      entry.resume();
    }
  })();
  ex.end(tar);
  await done;
  return out;
}

const TYPE_NAMES: Record<string, string> = { file: 'file', hardlink: 'link', symlink: 'symlink', directory: 'directory', fifo: 'fifo', char: 'character-device' };

test('tar-stream tars split and rejoin in any chunking', async () => {
  const longName = `${'x'.repeat(120)}/${'y'.repeat(150)}/file`;
  const tar = await tarStreamTar((add) => {
    add({ name: 'dir/', type: 'directory', mode: 0o755 });
    for (const size of [0, 1, 64, 65, 511, 512, 513, 100_003]) add({ name: `dir/f-${size}`, mode: 0o644 }, pattern(size, size));
    add({ name: longName, mode: 0o600 }, pattern(70));
    add({ name: `${'p'.repeat(140)}/ustar-prefixed`, mode: 0o644 }, pattern(5));
    add({ name: 'dir/sym', type: 'symlink', linkname: `${'t'.repeat(150)}/target` });
    add({ name: 'dir/hard', type: 'link', linkname: 'dir/f-65' });
    add({ name: 'dir/fifo', type: 'fifo', mode: 0o644 });
    add({ name: 'dir/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 });
    add({ name: 'dir/setuid', mode: 0o4755, pax: { 'SCHILY.xattr.user.k': 'v', 'SCHILY.xattr.security.capability': '\x01\x00\x00\x02' } }, pattern(3));
  });
  const want = await tarStreamListing(tar);
  const seed = Number(process.env.CFSKIT_TEST_SEED ?? Date.now() % 100000);
  for (const maxChunk of [1, 100, 512, 4096, 1 << 20]) {
    const got = splitInChunks(tar, seed + maxChunk, maxChunk);
    assert.ok(got.rebuilt.equals(tar), `rejoined (max chunk ${maxChunk}, CFSKIT_TEST_SEED=${seed})`);
    assert.ok(got.ended);
    assert.equal(
      got.entries.map((e) => ({ name: e.path.toString(), size: e.size, type: TYPE_NAMES[e.type] ?? e.type, linkname: e.linkPath.length ? e.linkPath.toString() : null })),
      want.map((w) => ({ ...w, size: ['file'].includes(w.type) ? w.size : 0 })),
    );
  }
  const { entries, contents } = splitInChunks(tar, seed, 777);
  const byName = (n: string): number => entries.findIndex((e) => e.path.toString() === n);
  assert.ok(contents[byName('dir/f-100003')]?.equals(pattern(100_003, 100_003)));
  const setuid = entries[byName('dir/setuid')];
  assert.is((setuid?.mode ?? 0) & 0o7777, 0o4755);
  assert.equal(setuid?.xattrs.map((x) => [x.name, x.value.toString('latin1')]), [['security.capability', '\x01\x00\x00\x02'], ['user.k', 'v']]);
  const dev = entries[byName('dir/null')];
  assert.equal([dev?.type, dev?.devMajor, dev?.devMinor], ['char', 1, 3]);
});

gated(test, haveTool('tar'))('GNU tar in every format splits and rejoins', async () => {
  await withTempDir('gnutar', async (dir) => {
    const src = join(dir, 'src');
    const deep = join(src, 'l'.repeat(100), 'm'.repeat(100));
    await mkdir(deep, { recursive: true });
    await writeFile(join(deep, 'n'.repeat(80)), pattern(10_000));
    await writeFile(join(src, 'short'), pattern(64));
    await writeFile(Buffer.from([...Buffer.from(`${src}/`), 0xe9, 0xff]), 'latin');
    await symlink(join('l'.repeat(100), 'm'.repeat(100), 'n'.repeat(80)), join(src, 'long-link'));
    for (const format of ['gnu', 'oldgnu', 'posix', 'ustar', 'v7']) {
      const tarPath = join(dir, `${format}.tar`);
      // ustar and v7 cannot store the long names: only the short ones.
      const members = format === 'ustar' || format === 'v7' ? ['short'] : ['.'];
      const r = spawnSync('tar', [`--format=${format}`, '--sort=name', '-C', src, '-cf', tarPath, ...members]);
      assert.is(r.status, 0, String(r.stderr));
      const tar = await readFile(tarPath);
      const got = splitInChunks(tar, 42, 3000);
      assert.ok(got.rebuilt.equals(tar), format);
      const listed = spawnSync('tar', ['-tf', tarPath, '--quoting-style=literal']).stdout.toString('latin1').split('\n').filter(Boolean);
      assert.equal(got.entries.map((e) => e.path.toString('latin1')), listed, format);
      if (members[0] === '.') {
        const file = got.entries.findIndex((e) => e.path.length > 255);
        assert.ok(got.contents[file]?.equals(pattern(10_000)), `${format}: long-named content`);
        assert.ok(got.entries.some((e) => e.type === 'symlink' && e.linkPath.length > 100), `${format}: long link`);
      }
    }
  });
});

/** A ustar header whose size field is base-256 (GNU), for sizes of 8 GiB and more. */
function base256Header(name: string, size: bigint): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0);
  block.write('0000644\0', 100);
  block.write('0000000\0', 108);
  block.write('0000000\0', 116);
  for (let i = 0; i < 11; i++) block[135 - i] = Number((size >> BigInt(8 * i)) & 0xffn);
  block[124] = 0x80;
  block.write('14524770400\0', 136);
  block[156] = 0x30;
  block.write('ustar\0', 257);
  block.write('00', 263);
  block.fill(0x20, 148, 156);
  const sum = block.reduce((a, b) => a + b, 0);
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

test('base-256 sizes beyond 8 GiB parse (parser level)', () => {
  const size = 9n << 30n;
  using splitter = new TarSplitter('huge.tar');
  const events = splitter.push(Buffer.concat([base256Header('huge', size), pattern(4096)]));
  const entry = events.find((e) => e.kind === 'entry');
  assert.ok(entry?.kind === 'entry');
  assert.is(entry.entry.size, Number(size));
  assert.is(entry.entry.contentOffset, 512);
  const content = events.filter((e) => e.kind === 'content').reduce((n, e) => n + (e.kind === 'content' ? e.bytes.length : 0), 0);
  assert.is(content, 4096);
  assert.throws(() => splitter.finish(), (err: unknown) => err instanceof InputError && err.message === `huge.tar: tar entry 0 (huge) at byte 4608: the archive ends ${size - 4096n} bytes before the end of the content`);
});

test('damaged archives are InputErrors naming the input', async () => {
  const tar = await tarStreamTar((add) => add({ name: 'a' }, pattern(600)));
  const cases: [Buffer, RegExp][] = [
    [Buffer.from('this is not a tar archive at all'.repeat(20)), /^x.tar: tar header at byte 0: header checksum/],
    [tar.subarray(0, 700), /^x.tar: tar entry 0 \(a\) at byte 700: the archive ends 412 bytes before the end of the content$/],
    [tar.subarray(0, 100), /^x.tar: tar header at byte 100: the archive ends inside a header \(100 of 512 bytes\)$/],
  ];
  for (const [input, message] of cases) {
    let err: unknown;
    try {
      for await (const _ of splitTar(Readable.from([input]), 'x.tar'));
    } catch (e) {
      err = e;
    }
    assert.instance(err, InputError);
    assert.match((err as Error).message, message);
  }
});

test.run();
