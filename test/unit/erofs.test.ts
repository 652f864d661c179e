/**
 * Images and dumpfiles through the wasm core alone (no disk, no tools):
 * cfsctl's dumpfiles give cfsctl's image IDs, images read back to the same
 * dumpfile, the reader API, and clear errors for hostile input.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InputError } from '../../common/index.js';
import { imageFromDumpfile } from '../../src/image/compute.js';
import { openImage } from '../../src/image/reader.js';
import { parseGetfattr, unescapeGetfattr } from '../support/getfattr.js';
import { VECTORS, dumpName, treeId, vectorFile } from '../support/erofs-vectors.js';

test("every vector dumpfile gives cfsctl's image ID in each EROFS format and reads back to itself", () => {
  let n = 0;
  for (const [name, tree] of Object.entries(VECTORS.trees)) {
    for (const variant of tree.variants) {
      const file = dumpName(name, variant);
      const text = vectorFile(file);
      for (const erofsVersion of [0, 1, 2] as const) {
        const image = imageFromDumpfile(text, { name: file, erofsVersion });
        assert.is(image.hex, treeId(name, variant, 'sha512', erofsVersion), `${file} v${erofsVersion}`);
        n++;
      }
      // Trees whose own overlay markers composefs-rs drops on reading are
      // covered by the dump-files vectors instead.
      if (name === 'xattrs' || name === 'whiteouts') continue;
      const reader = openImage(imageFromDumpfile(text, { name: file }).bytes, { name: file });
      try {
        assert.ok(reader.dumpfile().equals(text), `${file} read back`);
      } finally {
        reader.close();
      }
    }
  }
  assert.ok(n >= 50, `${n} vectors`);
});

test('dump-files output matches cfsctl dump-files of the V1 and V2 images it made', () => {
  for (const c of VECTORS.dumpFiles) {
    const image = imageFromDumpfile(vectorFile(`${c.tree}.dump`), { erofsVersion: c.version });
    const reader = openImage(image.bytes);
    try {
      const got = reader.dumpFiles(c.paths, { backingPathOnly: c.backingPathOnly });
      assert.is(got.toString('latin1'), vectorFile(c.output).toString('latin1'), c.output);
    } finally {
      reader.close();
    }
  }
});

test('a hard-linked whiteout is refused in every format, as composefs-rs refuses it', () => {
  const dump = '/ 0 40755 2 0 0 0 0.0 - - -\n/a 0 20644 2 0 0 0 0.0 - - -\n/b 0 @120000 - - - - 0.0 /a - -\n';
  for (const erofsVersion of [0, 1, 2] as const) {
    assert.throws(() => imageFromDumpfile(dump, { name: 'w.dump', erofsVersion }), (e: unknown) => e instanceof InputError && /w\.dump: a whiteout \(0:0 character device\) has 2 hard links/.test(e.message));
  }
});

test('V1 images keep mtime nanoseconds (compact inodes the build time); V2 keeps seconds', () => {
  const dump = '/ 0 40755 2 0 0 0 5.7 - - -\n/old 0 100644 1 0 0 0 5.7 - - -\n/new 0 100644 1 0 0 0 9.123456789 - - -\n';
  const v1 = openImage(imageFromDumpfile(dump).bytes);
  const v2 = openImage(imageFromDumpfile(dump, { erofsVersion: 2 }).bytes);
  try {
    assert.equal([v1.stat('/old').mtime, v1.stat('/old').mtimeNsec, v1.stat('/new').mtimeNsec], [5, 7, 123456789]);
    assert.equal([v2.stat('/old').mtimeNsec, v2.stat('/new').mtime, v2.stat('/new').mtimeNsec], [0, 9, 0]);
    // 256 whiteout stubs and the root's opaque marker are V1's, invisible to readers.
    assert.equal(v1.readDir('/').map((e) => e.name.toString()), ['new', 'old']);
  } finally {
    v1.close();
    v2.close();
  }
});

test('the reader API: stat, readDir, readlink, objects, hard links', () => {
  const image = imageFromDumpfile(vectorFile('types.dump'));
  const r = openImage(image.bytes);
  try {
    assert.is(r.hashAlg, 'sha512');
    const ext = r.stat('/file-external');
    assert.is(ext.fileType, 'regular');
    assert.is(ext.size, 5000);
    assert.is(ext.nlink, 2);
    assert.is(ext.objectId?.length, 128);
    assert.is(r.stat('/hl-external').inode, ext.inode);
    assert.equal(r.objects(), [ext.objectId]);
    assert.is(r.readlink('/symlink').toString(), 'file-inline');
    assert.is(r.stat('/whiteout').fileType, 'char-device', 'a V1 escaped whiteout reads back as one');
    assert.is(r.stat('/whiteout').rdev, 0);
    assert.is(r.stat('/blockdev').rdev, 2049);
    const names = r.readDir('/dir').map((e) => e.name.toString());
    assert.equal(names, [...names].sort());
    assert.ok(names.includes('sub'));
    assert.is(r.stat('/').nlink, 3);
    assert.throws(() => r.stat('/nope'), (e: unknown) => e instanceof InputError && /\/nope: no such file/.test(e.message));
    assert.throws(() => r.readlink('/dir'), /not a symlink/);
  } finally {
    r.close();
  }
});

test('hostile images and dumpfiles are InputErrors naming the input', () => {
  const image = imageFromDumpfile(vectorFile('types.dump')).bytes;
  for (const bad of [image.subarray(0, 2000), Buffer.alloc(8192), Buffer.concat([image.subarray(0, 1024), Buffer.alloc(image.length - 1024)])]) {
    assert.throws(() => openImage(bad, { name: 'evil.img' }), (e: unknown) => e instanceof InputError && e.message.startsWith('evil.img: '));
  }
  const cases: [string, RegExp][] = [
    ['', /no entries/],
    ['/ 0 40755 2 0 0 0 0.0 - - -\n/a/b 0 100644 1 0 0 0 0.0 - - -\n', /^x\.dump: line 2: \/a\/b: its parent directory does not exist/],
    ['/ 0 40755 2 0 0 0 0.0 - - -\n/a 0 100644 1 0 0 0 0.0 - - - user.x=\\q\n', /line 2: xattr user.x: invalid escape/],
  ];
  for (const [text, want] of cases) {
    assert.throws(() => imageFromDumpfile(text, { name: 'x.dump' }), (e: unknown) => e instanceof InputError && want.test(e.message));
  }
  // An object ID of the wrong algorithm.
  assert.throws(() => imageFromDumpfile(vectorFile('types.dump'), { hashAlg: 'sha256' }), /64 hex characters/);
});

test('getfattr output: octal escapes and hex values survive exactly', () => {
  assert.ok(unescapeGetfattr(Buffer.from('a\\134b\\012c\\075')).equals(Buffer.from('a\\b\nc=')));
  const out = Buffer.concat([
    Buffer.from('# file: /r\n'),
    Buffer.from('user.a=0x00ff\n\n# file: /r/x\\012y\n'),
    Buffer.from([0x75, 0x73, 0x65, 0x72, 0x2e, 0xff]),
    Buffer.from('=0x\nuser.eq\\075=0x31\n\n'),
  ]);
  const map = parseGetfattr(out, Buffer.from('/r'));
  assert.ok(map.get('')?.[0]?.value.equals(Buffer.from([0, 255])));
  const xy = map.get('x\ny');
  assert.ok(xy?.[0]?.name.equals(Buffer.from([0x75, 0x73, 0x65, 0x72, 0x2e, 0xff])));
  assert.is(xy?.[0]?.value.length, 0);
  assert.is(xy?.[1]?.name.toString(), 'user.eq=');
  assert.throws(() => parseGetfattr(Buffer.from('# file: /elsewhere\n'), Buffer.from('/r')), /outside the tree/);
});

test.run();
