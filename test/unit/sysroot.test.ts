/**
 * The sysroot's parsers as pure logic: origin files and unit files in the
 * INI dialect bootc's tini crate reads (with bootc's own test cases for
 * specifiers, .image and .container files), bound images resolved and
 * read out of a composefs image built from a dumpfile, the boot state
 * (kernel command line, staged record, BLS order), and which store images
 * a system still wants.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InputError, NotFoundError } from '../../common/index.js';
import { imageFromDumpfile } from '../../src/image/compute.js';
import { openImage, type ComposefsImageFile } from '../../src/image/reader.js';
import {
  bootcTag,
  compareBootEntries,
  composefsDigest,
  composefsDigests,
  manifestOfBootcTag,
  parseBootEntry,
  parseBoundImageFile,
  parseImageReference,
  parseIni,
  parseOrigin,
  parseSpecValue,
  readBoundImages,
  resolveInImage,
  stagedId,
  WantedImages,
  iniValue,
} from '../../src/sysroot/index.js';
import { digestBytes } from '../../src/fsverity/digest.js';

const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');
const DIGEST = `sha256:${'ab'.repeat(32)}`;

test('INI as tini reads it: trimmed keys and values, ; and # comments anywhere, quotes kept, later keys win', () => {
  const doc = parseIni(bytes('# top\n[Image]\n  Image = quay.io/a/b:1 ; why\nQuoted="x"\nHash=a#b\nImage=quay.io/a/b:2\n\n[Other]\nk=\n'), 'f');
  assert.is(iniValue(doc, 'Image', 'Image'), 'quay.io/a/b:2');
  assert.is(iniValue(doc, 'Image', 'Quoted'), '"x"');
  assert.is(iniValue(doc, 'Image', 'Hash'), 'a');
  assert.is(iniValue(doc, 'Other', 'k'), '');
  assert.is(iniValue(doc, 'Missing', 'k'), undefined);
});

test('INI that tini refuses is refused, naming the file', () => {
  for (const [text, why] of [
    ['[Image]\nno equals sign here\n', /not valid INI.*line 2/],
    ['[Image\nImage=x\n', /not valid INI.*unclosed section/],
    ['[Image]\nImage=\0x\n', /NUL/],
  ] as const) {
    const err = (() => {
      try {
        parseIni(bytes(text), '/x/a.image');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.instance(err, InputError, text);
    assert.match((err as Error).message, /^\/x\/a\.image: /);
    assert.match((err as Error).message, why);
  }
  assert.throws(() => parseIni(Buffer.from([0x5b, 0xff, 0x5d]), 'f'), /not valid UTF-8/);
  assert.throws(() => parseIni(Buffer.alloc(70000, 0x61), 'f'), /more than 65536/);
});

test('a "[__proto__]" section smuggles nothing in', () => {
  const doc = parseIni(bytes('[__proto__]\nImage=evil\n[constructor]\nx=1\n'), 'f');
  assert.is(iniValue(doc, 'Image', 'Image'), undefined);
  assert.is(({} as Record<string, unknown>).Image, undefined);
});

test('an origin as bootc writes it', () => {
  const text = [
    '[origin]',
    'container-image-reference = ostree-unverified-image:docker://quay.io/org/os:42',
    '',
    '[boot]',
    'boot_type = bls',
    'digest = 0123',
    '',
    '[image]',
    `manifest_digest = ${DIGEST}`,
    '',
  ].join('\n');
  const origin = parseOrigin(bytes(text), 'o');
  assert.equal(origin.source, { transport: 'docker', name: 'quay.io/org/os:42' });
  assert.is(origin.manifestDigest, DIGEST);
  assert.is(origin.bootType, 'bls');
  assert.is(origin.bootDigest, '0123');
  assert.is(parseOrigin(bytes('[origin]\ncontainer-image-reference=ostree-unverified-registry:quay.io/a:1\n'), 'o').manifestDigest, undefined);
});

test('ostree-container references: every policy prefix and transport', () => {
  const cases: [string, string, string][] = [
    ['ostree-unverified-image:docker://quay.io/a:1', 'docker', 'quay.io/a:1'],
    ['ostree-unverified-registry:quay.io/a:1', 'docker', 'quay.io/a:1'],
    ['ostree-image-signed:docker://quay.io/a@' + DIGEST, 'docker', `quay.io/a@${DIGEST}`],
    ['ostree-remote-image:fedora:docker://quay.io/a:1', 'docker', 'quay.io/a:1'],
    ['ostree-remote-registry:fedora:quay.io/a:1', 'docker', 'quay.io/a:1'],
    ['ostree-unverified-image:containers-storage:localhost/os', 'containers-storage', 'localhost/os'],
    ['ostree-unverified-image:oci:/var/lib/layout', 'oci', '/var/lib/layout'],
    ['docker://quay.io/plain:1', 'docker', 'quay.io/plain:1'],
    ['registry:quay.io/plain:1', 'docker', 'quay.io/plain:1'],
  ];
  for (const [ref, transport, name] of cases) assert.equal(parseImageReference(ref, 'o'), { transport, name }, ref);
  for (const bad of ['ostree-unverified-image:', 'just-a-name', 'ostree-remote-image:docker', 'ostree-unverified-image:docker://', 'BAD!:x']) {
    assert.throws(() => parseImageReference(bad, 'o'), (e: unknown) => e instanceof InputError, bad);
  }
});

test('malformed origins are refused with the file named', () => {
  for (const [text, why] of [
    ['', /no \[origin\] container-image-reference/],
    ['[origin]\ncontainer-image-reference=\n', /no \[origin\]/],
    ['[image]\nmanifest_digest=sha256:abc\n[origin]\ncontainer-image-reference=docker://a\n', /not a sha256:<hex> digest/],
    ['garbage\n', /not valid INI/],
  ] as const) {
    assert.throws(() => parseOrigin(bytes(text), '/s/state/deploy/x/x.origin'), (e: unknown) => e instanceof InputError && why.test(e.message) && e.message.startsWith('/s/state/deploy/x/x.origin: '));
  }
});

test('systemd specifiers: bootc\'s cases', () => {
  assert.is(parseSpecValue('quay.io/foo/foo:latest', 'f'), 'quay.io/foo/foo:latest');
  assert.is(parseSpecValue('quay.io/foo/%%foo:latest', 'f'), 'quay.io/foo/%foo:latest');
  assert.is(parseSpecValue('quay.io/foo/%%foo:%%latest', 'f'), 'quay.io/foo/%foo:%latest');
  assert.is(parseSpecValue('%%quay.io/foo/foo:latest%%', 'f'), '%quay.io/foo/foo:latest%');
  assert.is(parseSpecValue('quay.io/foo/%%%%foo:latest', 'f'), 'quay.io/foo/%%foo:latest');
  for (const bad of ['quay.io/foo/%foo:latest', 'quay.io/foo/%%%foo:latest', 'quay.io/foo/%f%ooo:latest', '%fquay.io/foo/foo:latest', 'quay.io/foo/foo:latest%f', 'quay.io/foo/foo:latest%']) {
    assert.throws(() => parseSpecValue(bad, 'f'), (e: unknown) => e instanceof InputError, bad);
  }
});

test('.image and .container files: bootc\'s cases', () => {
  assert.equal(parseBoundImageFile(bytes('[Image]\nImage=quay.io/foo/foo:latest'), 'a.image', 'f'), { kind: 'image', image: 'quay.io/foo/foo:latest' });
  assert.equal(parseBoundImageFile(bytes('[Container]\nImage=quay.io/foo/foo:latest'), 'a.container', 'f'), { kind: 'container', image: 'quay.io/foo/foo:latest' });
  assert.throws(() => parseBoundImageFile(bytes('[Image]\nImage=quay.io/foo/foo:latest\nAuthFile=/etc/containers/auth.json\n'), 'a.image', 'f'), /AuthFile/);
  assert.throws(() => parseBoundImageFile(bytes('[Image]\n'), 'a.image', 'f'), /no \[Image\] Image=/);
  assert.throws(() => parseBoundImageFile(bytes('[Container]\n'), 'a.container', 'f'), /no \[Container\] Image=/);
  assert.throws(() => parseBoundImageFile(bytes('[Container]\nImage=x'), 'a.image', 'f'), /no \[Image\] Image=/);
  assert.throws(() => parseBoundImageFile(bytes('[Image]\nImage=x'), 'a.service', 'f'), /must end in \.image or \.container/);
});

/** Dumpfile field escaping (composefs-dump(5)). */
function esc(data: Buffer): string {
  let out = '';
  for (const c of data) out += c === 0x5c ? '\\\\' : c > 0x20 && c < 0x7f ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return out;
}

interface Node {
  readonly path: string;
  readonly dir?: true;
  readonly link?: string;
  readonly data?: string;
  readonly object?: Buffer;
}

/** A composefs image of these nodes (parents created), plus its external objects by ID. */
function imageOf(nodes: readonly Node[]): { image: ComposefsImageFile; objects: Map<string, Buffer> } {
  const dirs = new Set<string>(['/']);
  for (const n of nodes) {
    const parts = n.path.split('/').filter(Boolean);
    for (let i = 1; i < parts.length + (n.dir ? 1 : 0); i++) dirs.add(`/${parts.slice(0, i).join('/')}`);
  }
  const objects = new Map<string, Buffer>();
  const lines = [...dirs].map((d) => `${d === '/' ? '/' : esc(Buffer.from(d))} 0 40755 2 0 0 0 0.0 - - -`);
  for (const n of nodes) {
    const p = esc(Buffer.from(n.path));
    if (n.dir) continue;
    if (n.link !== undefined) lines.push(`${p} ${Buffer.byteLength(n.link)} 120777 1 0 0 0 0.0 ${esc(Buffer.from(n.link))} - -`);
    else if (n.object !== undefined) {
      const id = Buffer.from(digestBytes(n.object, { hashAlg: 'sha512' })).toString('hex');
      objects.set(id, n.object);
      lines.push(`${p} ${n.object.length} 100644 1 0 0 0 0.0 ${id.slice(0, 2)}/${id.slice(2)} - ${id}`);
    } else {
      const data = Buffer.from(n.data ?? '');
      lines.push(`${p} ${data.length} 100644 1 0 0 0 0.0 - ${data.length ? esc(data) : '-'} -`);
    }
  }
  lines.sort((a, b) => (a.split(' ')[0] ?? '').localeCompare(b.split(' ')[0] ?? ''));
  const built = imageFromDumpfile(`${lines.join('\n')}\n`, { hashAlg: 'sha512' });
  return { image: openImage(built.bytes, { hashAlg: 'sha512', name: 'test image' }), objects };
}

const reader = (objects: Map<string, Buffer>) => async (id: string): Promise<Buffer> => {
  const data = objects.get(id);
  if (!data) throw new NotFoundError(id, 'no such object');
  return data;
};

const D = '/usr/lib/bootc/bound-images.d';
const SYSTEMD = '/usr/share/containers/systemd';

test('bound images from an image: absolute, relative and chained symlinks, inline and external files', async () => {
  const big = Buffer.from(`# ${'padding '.repeat(20)}\n[Container]\nImage=quay.io/big/app:%%1\n`);
  const { image, objects } = imageOf([
    { path: `${SYSTEMD}/a.image`, data: '[Image]\nImage=quay.io/a/a:1\n' },
    { path: `${SYSTEMD}/b.container`, object: big },
    { path: `${SYSTEMD}/c.image`, link: 'a.image' },
    { path: `${D}/a.image`, link: `${SYSTEMD}/a.image` },
    { path: `${D}/b.container`, link: '../../../share/containers/systemd/b.container' },
    { path: `${D}/c.image`, link: `${SYSTEMD}/c.image` },
  ]);
  try {
    const bound = await readBoundImages(image, reader(objects), 'img');
    assert.equal(
      bound.map((b) => [b.entry, b.file, b.kind, b.image]),
      [
        ['a.image', `${SYSTEMD}/a.image`, 'image', 'quay.io/a/a:1'],
        ['b.container', `${SYSTEMD}/b.container`, 'container', 'quay.io/big/app:%1'],
        ['c.image', `${SYSTEMD}/a.image`, 'image', 'quay.io/a/a:1'],
      ],
    );
  } finally {
    image.close();
  }
});

test('an image without bound-images.d binds nothing', async () => {
  const { image } = imageOf([{ path: '/usr/bin/true', data: 'x' }]);
  try {
    assert.equal(await readBoundImages(image, async () => Buffer.alloc(0), 'img'), []);
  } finally {
    image.close();
  }
});

test('bad bound-images.d entries: not a symlink, out of the image, dangling, a loop, a directory, a bad name', async () => {
  const cases: [Node[], RegExp][] = [
    [[{ path: `${D}/plain.image`, data: '[Image]\nImage=x\n' }], /plain\.image: is not a symlink/],
    [[{ path: `${D}/out.image`, link: '../../../../../../etc/x.image' }], /leads out of the image/],
    [[{ path: `${D}/gone.image`, link: `${SYSTEMD}/gone.image` }], /gone\.image: leads to \/usr\/share, which the image does not have/],
    [[{ path: `${D}/loop.image`, link: 'loop.image' }], /more than 40 symlinks/],
    [[{ path: `${SYSTEMD}/d.image`, dir: true }, { path: `${D}/d.image`, link: `${SYSTEMD}/d.image` }], /not a regular file/],
    [[{ path: `${SYSTEMD}/x.service`, data: '[Image]\nImage=x\n' }, { path: `${D}/x.service`, link: `${SYSTEMD}/x.service` }], /must end in \.image or \.container/],
    [[{ path: `${SYSTEMD}/s.image`, data: '[Image]\nImage=quay.io/%n:1\n' }, { path: `${D}/s.image`, link: `${SYSTEMD}/s.image` }], /specifier %n/],
  ];
  for (const [nodes, why] of cases) {
    const { image, objects } = imageOf(nodes);
    try {
      let err: unknown;
      await readBoundImages(image, reader(objects), 'img').catch((e: unknown) => {
        err = e;
      });
      assert.ok(err instanceof InputError || err instanceof NotFoundError, `${why}: ${String(err)}`);
      assert.match((err as Error).message, why);
      assert.match((err as Error).message, /img:/);
    } finally {
      image.close();
    }
  }
});

test('resolveInImage follows symlinked directories and absolute targets, clamps nothing', () => {
  const { image } = imageOf([
    { path: '/usr/share/real/f', data: 'x' },
    { path: '/usr/share/alias', link: 'real' },
    { path: '/abs', link: '/usr/share/alias/f' },
  ]);
  try {
    assert.is(resolveInImage(image, '/abs', 'n'), '/usr/share/real/f');
    assert.is(resolveInImage(image, '/usr/share/alias/../alias/f', 'n'), '/usr/share/real/f');
    assert.throws(() => resolveInImage(image, '/../usr', 'n'), /leads out of the image/);
  } finally {
    image.close();
  }
});

test('the boot state: composefs= or composefs.digest= on the command line, the staged record, BLS order', () => {
  const id = 'c'.repeat(128);
  assert.is(composefsDigest(`BOOT_IMAGE=/vmlinuz root=UUID=x composefs=${id} rw\n`), id);
  assert.is(composefsDigest(`quiet composefs=?${id}`), id);
  assert.is(composefsDigest('quiet root=/dev/sda'), undefined);
  // composefs-boot 0.9 names a V1 image (V0's layout too) only by composefs.digest=, tried before composefs=.
  const v1 = 'd'.repeat(128);
  assert.is(composefsDigest(`composefs.digest=v1-sha512-12:${v1}`), v1);
  assert.is(composefsDigest(`composefs.digest=?v1-sha512-12:${v1}`), v1);
  assert.equal(composefsDigests(`composefs=${id} composefs.digest=v1-sha512-12:${v1} composefs.digest=v2-sha256-12:${'e'.repeat(64)}`), [v1, 'e'.repeat(64), id]);
  assert.equal(composefsDigests(`composefs.digest=v3-sha512-12:${v1} composefs.digest=v1-md5-12:${v1}`), []);
  assert.is(stagedId(bytes(JSON.stringify({ depl_id: id, finalization_locked: false })), 's'), id);
  assert.throws(() => stagedId(bytes('{}'), 's'), /no "depl_id"/);
  assert.throws(() => stagedId(bytes('{'), 's'), /not JSON/);
  const entry = (version: string, digest: string, sortKey?: string): string =>
    `title x\nversion ${version}\n${sortKey ? `sort-key ${sortKey}\n` : ''}linux /vmlinuz\noptions rw composefs=${digest}\n`;
  const order = (texts: string[]): string[] =>
    texts
      .map((t) => parseBootEntry(t))
      .filter((p) => p !== undefined)
      .sort(compareBootEntries)
      .map((p) => p.digest);
  // Newest version first; sort-key before version.
  assert.equal(order([entry('1', 'a'), entry('10', 'b'), entry('2', 'c')]), ['b', 'c', 'a']);
  assert.equal(order([entry('9', 'd', 'zz'), entry('1', 'e', 'aa')]), ['e', 'd']);
  assert.is(parseBootEntry('title x\nversion 1\n'), undefined);
});

test('bootc tags', () => {
  assert.is(bootcTag(DIGEST), `localhost/bootc-${DIGEST}`);
  assert.is(manifestOfBootcTag(bootcTag(DIGEST)), DIGEST);
  assert.is(manifestOfBootcTag('localhost/app:1'), undefined);
});

test('which store images a system wants: manifest digests, origin names, bound references', () => {
  const wanted = new WantedImages();
  wanted.addDigest(DIGEST);
  wanted.addReference('quay.io/org/os:42');
  wanted.addReference('app');
  wanted.addReference(`quay.io/pinned/x@sha256:${'cd'.repeat(32)}`);
  const img = (names: string[], digests: string[] = []) => ({ id: 'i', names, digests });
  assert.ok(wanted.matches(img([], [DIGEST])));
  assert.ok(wanted.matches(img(['quay.io/org/os:42'])));
  assert.ok(wanted.matches(img(['docker.io/library/app:latest'])));
  assert.ok(wanted.matches(img(['localhost/app:latest'])));
  assert.ok(wanted.matches(img(['quay.io/pinned/x:other'], [`sha256:${'cd'.repeat(32)}`])));
  assert.not.ok(wanted.matches(img(['quay.io/pinned/x:other'])));
  assert.not.ok(wanted.matches(img(['quay.io/org/os:41'], [`sha256:${'ef'.repeat(32)}`])));
});

test.run();
