/**
 * Files that are not what they should be: a FIFO, a device, a symlink, one
 * far too large. Every reader refuses them by what they are, quickly and
 * naming the file — none blocks on a FIFO or reads /dev/zero until memory
 * runs out — and work that could never end does not start (a sparse file
 * larger than an image can describe, init under /proc).
 */
import { mkdir, mkdtemp, rm, symlink, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { InputError, LimitError } from '../../common/index.js';
import { ContainersStorage, readStorageConf } from '../../src/cstor/index.js';
import { IMAGE_SIZE_MAX, computeImageId, createImage, openImageFile } from '../../src/image/index.js';
import { Repository } from '../../src/repository/index.js';
import { splitTar } from '../../src/tar/index.js';
import { findCredentials, tlsOptionsFor } from '../../src/registry/index.js';
import { hostPlatform, openSource } from '../../src/source/index.js';
import { cfskit } from '../support/cli.js';
import { mkfifo } from '../support/mkfifo.js';
import { rejects } from '../support/rejects.js';

const test = suite<{ dir: string }>('hostile files', { dir: '' });

test.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), 'cfskit-hostile-files-'));
});

test.after.each(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});

/** Rejects within a few seconds (a blocked open would hang instead), with `kind` and a message matching `message`. */
async function refused(promise: Promise<unknown>, kind: new (...args: never[]) => Error, message: RegExp): Promise<void> {
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('still waiting after 10 s: blocked?')), 10_000).unref());
  const err = await rejects(Promise.race([promise, timeout]));
  assert.instance(err, kind, String(err));
  assert.match((err as Error).message, message);
}

test('meta.json as a FIFO, a symlink to /dev/zero, over 1 MiB, or at version 0', async (ctx) => {
  const repo = join(ctx.dir, 'repo');
  await (await Repository.init(repo, { insecure: true })).close();
  const meta = join(repo, 'meta.json');
  await unlink(meta);
  await mkfifo(meta);
  await refused(Repository.open(repo), InputError, /meta\.json: is a FIFO, not a regular file as a repository meta\.json must be/);
  await unlink(meta);
  await symlink('/dev/zero', meta);
  await refused(Repository.open(repo), InputError, /meta\.json: is a symlink where a repository meta\.json must be a file/);
  await unlink(meta);
  await writeFile(meta, ' '.repeat((1 << 20) + 1));
  await refused(Repository.open(repo), LimitError, /1048577 bytes is more than a repository meta\.json may have \(1048576 at most\)/);
  await writeFile(meta, '{"version": 0, "algorithm": "fsverity-sha512-12"}\n');
  await refused(Repository.open(repo), InputError, /repository format version 0 does not exist/);
});

test('an object replaced by a FIFO', async (ctx) => {
  const repo = await Repository.init(join(ctx.dir, 'repo'), { insecure: true });
  try {
    const { id } = await repo.objects.ensureObject(Buffer.alloc(100, 3));
    await unlink(repo.objects.pathOf(id));
    await mkfifo(repo.objects.pathOf(id));
    await refused(repo.streams.openObject(id, true), InputError, /object is a FIFO, not a regular file/);
  } finally {
    await repo.close();
  }
});

test('an image file that is a FIFO, /dev/zero, or over the core budget', async (ctx) => {
  const fifo = join(ctx.dir, 'image');
  await mkfifo(fifo);
  await refused(openImageFile(fifo), InputError, /image: is a FIFO, not a regular file as a composefs image must be/);
  await refused(openImageFile('/dev/zero'), InputError, /\/dev\/zero: is a character device/);
  const big = join(ctx.dir, 'big');
  await writeFile(big, '');
  await truncate(big, (256 << 20) + 1);
  await refused(openImageFile(big), LimitError, /268435457 bytes is more than a composefs image may have \(268435456 at most\)/);
});

test('the core reads an image padded to exactly its budget, and refuses one byte more', async (ctx) => {
  const tree = join(ctx.dir, 'tree');
  await mkdir(join(tree, 'usr'), { recursive: true });
  await writeFile(join(tree, 'usr/f'), 'x'.repeat(100));
  const image = (await createImage(tree)).bytes;
  const path = join(ctx.dir, 'padded');
  await writeFile(path, image);
  // 1023 MiB once read garbage through jco's 30-bit resource handles; the budget keeps far below.
  await truncate(path, IMAGE_SIZE_MAX);
  const opened = await openImageFile(path);
  try {
    assert.is(opened.entryCount, 3);
    assert.equal(opened.readDir('/usr').map((e) => e.name.toString()), ['f']);
  } finally {
    opened.close();
  }
  await truncate(path, IMAGE_SIZE_MAX + 1);
  await refused(openImageFile(path), LimitError, /268435457 bytes/);
});

test('containers-storage files: a FIFO images.json, storage.conf as /dev/zero', async (ctx) => {
  const root = join(ctx.dir, 'store');
  await mkdir(join(root, 'overlay-images'), { recursive: true });
  await mkdir(join(root, 'overlay-layers'), { recursive: true });
  await mkfifo(join(root, 'overlay-images/images.json'));
  const storage = await ContainersStorage.open({ storageRoot: root });
  await refused(storage.images(), InputError, /images\.json: is a FIFO, not a regular file as containers-storage metadata must be/);
  await refused(readStorageConf('/dev/zero'), InputError, /\/dev\/zero: is a character device, not a regular file as a storage\.conf must be/);
  const r = await cfskit(['cstor', 'images'], { env: { ...process.env, CONTAINERS_STORAGE_CONF: '/dev/zero' } });
  assert.is(r.status, 1);
  assert.match(r.stderr, '/dev/zero: is a character device, not a regular file as a storage.conf must be');
  assert.not.match(r.stderr, /Invalid string length|\n\s+at /);
});

test('a damaged layers.json is reported once by cstor images, not once per image', async (ctx) => {
  const root = join(ctx.dir, 'store');
  await mkdir(join(root, 'overlay-images'), { recursive: true });
  await mkdir(join(root, 'overlay-layers'), { recursive: true });
  const id = (n: number): string => String(n).repeat(64);
  const images = [1, 2, 3].map((n) => ({ id: id(n), names: [`localhost/x${n}:1`], layer: id(n + 3) }));
  await writeFile(join(root, 'overlay-images/images.json'), JSON.stringify(images));
  await writeFile(join(root, 'overlay-layers/layers.json'), '[{"id": "damaged');
  const r = await cfskit(['cstor', 'images', '--storage-root', root]);
  assert.is(r.status, 1);
  assert.is(r.stderr.match(/layers\.json: damaged: not valid JSON/g)?.length, 1, r.stderr);
  assert.match(r.stdout, /localhost\/x1:1[\s\S]*localhost\/x3:1/);
});

test('a sparse file larger than an image can describe is refused by its size, before it is read', async (ctx) => {
  const tree = join(ctx.dir, 'tree');
  await mkdir(join(tree, 'usr'), { recursive: true });
  await writeFile(join(tree, 'usr/sparse'), '');
  await truncate(join(tree, 'usr/sparse'), 2 ** 43 + 1);
  const started = Date.now();
  await refused(computeImageId(tree), LimitError, /usr\/sparse: 8796093022209 bytes is more than a composefs image can describe \(8796093022208\)/);
  assert.ok(Date.now() - started < 5000, 'refused before hashing');
});

/** A ustar header block for `name` of `size` bytes (typeflag `type`), checksum filled in. */
function ustarHeader(name: string, type: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 'latin1');
  h.write('0000644\0', 100, 'latin1');
  h.write('0000000\0', 108, 'latin1');
  h.write('0000000\0', 116, 'latin1');
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  h.write('14524572400\0', 136, 'latin1');
  h.write(type, 156, 'latin1');
  h.write('ustar\0' + '00', 257, 'latin1');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

test('a PAX record length of 2^32 + 20 is refused by the wasm core, not read as 20 (renaming the member)', async () => {
  const record = Buffer.from('4294967316 path=renamed\n');
  const tar = Buffer.concat([ustarHeader('PaxHeaders/f', 'x', record.length), record, Buffer.alloc(512 - record.length), ustarHeader('f', '0', 0), Buffer.alloc(1024)]);
  async function* once(): AsyncGenerator<Uint8Array> {
    yield tar;
  }
  const events = async (): Promise<unknown[]> => {
    const out: unknown[] = [];
    for await (const e of splitTar(once(), 'layer.tar')) out.push(e);
    return out;
  };
  await refused(events(), InputError, /PAX record 0 has length 4294967316, outside its 24 bytes of data/);
});

test('init under /proc ends with an error instead of looping', async () => {
  await refused(Repository.init('/proc/cfskit-no-such-dir/repo', { insecure: true }), InputError, /cannot be made a directory/);
});

test('podman-free sources: a FIFO index.json in an OCI layout, a FIFO or /dev/zero archive, a FIFO auth file or certificate', async (ctx) => {
  const layout = join(ctx.dir, 'layout');
  await mkdir(join(layout, 'blobs/sha256'), { recursive: true });
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await mkfifo(join(layout, 'index.json'));
  const source = await openSource(`oci:${layout}`);
  try {
    await refused(source.resolve(hostPlatform()), InputError, /index\.json: is a FIFO, not a regular file as an OCI layout's index\.json must be/);
  } finally {
    await source.close();
  }
  const fifo = join(ctx.dir, 'archive.tar');
  await mkfifo(fifo);
  await refused(openSource(`oci-archive:${fifo}`), InputError, /archive\.tar: is a FIFO, not a regular file as an image archive/);
  await refused(openSource('docker-archive:/dev/zero'), InputError, /\/dev\/zero: is a character device, not a regular file as an image archive/);
  const auth = join(ctx.dir, 'auth.json');
  await mkfifo(auth);
  await refused(findCredentials('registry.example', 'library/x', { authFile: auth, env: {} }), InputError, /auth\.json: is a FIFO, not a regular file as a registry auth file must be/);
  const certs = join(ctx.dir, 'certs');
  await mkdir(certs);
  await mkfifo(join(certs, 'ca.crt'));
  await refused(tlsOptionsFor('registry.example', { verify: true, certDir: certs }), InputError, /ca\.crt: is a FIFO, not a regular file as a CA certificate must be/);
});

test.run();
