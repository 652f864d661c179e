/**
 * The core reports typed errors: for each of its parsers, hostile input of
 * each kind comes back as the matching class and stable code, naming the
 * input the host gave (malformed → InputError, integrity → IntegrityError,
 * limit → LimitError, unsupported → UnsupportedError).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CfskitError, InputError, IntegrityError, LimitError, UnsupportedError, type ErrorCode } from '../../common/index.js';
import { composefs, fsverity, oci, splitstream, tar, tarsplit, withInput } from '../../src/core/index.js';

type ErrorClass = abstract new (...args: never[]) => CfskitError;

/** The error `call` fails with through withInput('INPUT', …): its class (exactly), code and message. */
function fails(call: () => unknown, cls: ErrorClass, code: ErrorCode, message: RegExp): void {
  let caught: unknown;
  try {
    withInput('INPUT', call);
  } catch (err) {
    caught = err;
  }
  assert.instance(caught, cls, message.source);
  assert.is((caught as CfskitError).constructor, cls, `${message.source}: exactly ${cls.name}`);
  assert.is((caught as CfskitError).code, code, message.source);
  assert.match((caught as Error).message, /^INPUT: /);
  assert.match((caught as Error).message, message);
  assert.is((caught as { input?: string }).input, 'INPUT');
}

function octal(block: Buffer, at: number, width: number, value: number): void {
  block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, at, 'latin1');
}

/** One ustar header block. */
function header(name: string, typeflag: string, size: number): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 'latin1');
  octal(block, 100, 8, 0o644);
  octal(block, 108, 8, 0);
  octal(block, 116, 8, 0);
  octal(block, 124, 12, size);
  octal(block, 136, 12, 1_700_000_000);
  block.write(typeflag, 156, 'latin1');
  block.write('ustar\x0000', 257, 'latin1');
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

const SHA512 = { algorithm: 'sha512', lgBlockSize: 12 } as const;

test('fsverity: a block size the kernel refuses is unsupported; entries that do not fit are malformed', () => {
  fails(() => fsverity.FileHasher.create({ algorithm: 'sha512', lgBlockSize: 17 }), UnsupportedError, 'unsupported', /block size 2\^17 is out of range/);
  fails(() => fsverity.digestFromEntries(SHA512, 0, 8192n, new Uint8Array(64)), InputError, 'invalid-input', /expected 2 tree entries/);
});

test('splitstream: bad magic is malformed, a newer version unsupported, a huge info section a limit', () => {
  const head = Buffer.alloc(32);
  fails(() => splitstream.parseHeader(head, 4096n, undefined), InputError, 'invalid-input', /not a splitstream/);
  head.write('SplitStream', 0, 'latin1');
  head[11] = 9;
  fails(() => splitstream.parseHeader(head, 4096n, undefined), UnsupportedError, 'unsupported', /splitstream version 9 is not supported/);
  head[11] = 0;
  head[14] = 2;
  head[15] = 12;
  head.writeBigUInt64LE(32n, 16);
  head.writeBigUInt64LE(32n + (1n << 30n), 24);
  fails(() => splitstream.parseHeader(head, 1n << 31n, undefined), LimitError, 'invalid-input', /more than the .* accepted/);
});

test('splitstream: inline chunks beyond the recorded stream size are an integrity failure', () => {
  const decoder = splitstream.StreamDecoder.create(0, 4n);
  // One zstd frame (raw block) holding a chunk header for 8 inline bytes.
  const chunk = Buffer.alloc(8);
  chunk.writeBigInt64LE(-8n);
  const frame = Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x20, chunk.length]), Buffer.from([(chunk.length << 3) | 1, 0, 0]), chunk]);
  withInput('INPUT', () => decoder.feed(frame));
  fails(() => decoder.next(), IntegrityError, 'integrity', /inline chunk of 8 bytes .* exceeds the 4 bytes left of the stream size 4/);
  decoder[Symbol.dispose]();
});

test('tar: a damaged header is malformed, an oversized PAX header a limit, a sparse file unsupported', () => {
  const bad = header('f', '0', 0);
  bad[148] = 0x37;
  fails(() => tar.Splitter.create().push(bad), InputError, 'invalid-input', /header checksum/);
  fails(() => tar.Splitter.create().push(header('pax', 'x', 2 << 20)), LimitError, 'invalid-input', /PAX header of 2097152 bytes exceeds the limit/);
  fails(() => tar.Splitter.create().push(header('sparse', 'S', 0)), UnsupportedError, 'unsupported', /GNU sparse files are not supported/);
  const cut = tar.Splitter.create();
  withInput('INPUT', () => cut.push(header('f', '0', 100)));
  fails(() => cut.finish(), InputError, 'invalid-input', /truncated|ends/);
});

test('tar-split: a line that is not a record is malformed; an oversized file a limit', () => {
  fails(() => tarsplit.Reader.create().push(Buffer.from('{"type":3,"position":0}\n')), InputError, 'invalid-input', /tar-split entry 0: unknown record type 3/);
  // 2^53 + 1: past what a JavaScript host can count exactly.
  const huge = '{"type":1,"name":"f","size":9007199254740993,"payload":"AAAAAAAAAAA=","position":0}\n';
  fails(() => tarsplit.Reader.create().push(Buffer.from(huge)), LimitError, 'invalid-input', /size 9007199254740993 for f exceeds/);
});

test('EROFS images: a wrong magic is malformed, another composefs version unsupported', () => {
  const image = Buffer.alloc(4096);
  fails(() => composefs.ImageReader.open(image, undefined), InputError, 'invalid-input', /bad composefs magic/);
  image.writeUInt32LE(0xd078629a, 0);
  image.writeUInt32LE(7, 4);
  fails(() => composefs.ImageReader.open(image, undefined), UnsupportedError, 'unsupported', /unsupported composefs header version 7/);
});

test('trees and dumpfiles: bad lines are malformed, files larger than an image can describe a limit', () => {
  fails(() => composefs.Tree.fromDumpfile('sha512', Buffer.from('/ 0 40755 2 0 0 0 0.0 - - - user.x=\\q\n')), InputError, 'invalid-input', /line 1: .*invalid escape/);
  const tree = new composefs.Tree('sha512');
  const meta = { mode: 0o644, uid: 0, gid: 0, mtime: 0n, mtimeNsec: 0, xattrs: [] };
  const huge = { tag: 'external-file', val: { objectId: new Uint8Array(64), size: 1n << 50n } } as const;
  fails(() => tree.addEntries([{ path: Buffer.from('/big'), node: huge, meta }]), LimitError, 'invalid-input', /\/big: a 1125899906842624-byte file is larger than/);
  fails(() => tree.transformForContainer('allowlist-only'), InputError, 'invalid-input', /\/usr does not exist/);
});

test('OCI layers: a member type composefs does not take is unsupported, naming the member', () => {
  const reader = new oci.LayerReader('sha512');
  fails(() => reader.inline(header('vol', 'V', 0)), UnsupportedError, 'unsupported', /unsupported tar entry type/);
  const cut = new oci.LayerReader('sha512');
  withInput('INPUT', () => cut.inline(header('usr/f', '0', 10)));
  fails(() => cut.finish(), InputError, 'invalid-input', /usr\/f/);
});

test.run();
