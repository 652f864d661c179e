/**
 * Images whose layers hold every hard case of layer rebuilding, made by the
 * real podman in a throwaway store (see podman.ts):
 *
 * - base (podman import of a tar-stream tar): a static busybox, hardlinks,
 *   symlinks (one with a target over 100 bytes), files of 0, 64, 65 bytes and
 *   1 MiB + 7, names over 100 (ustar prefix) and over 255 bytes (PAX path),
 *   setuid/setgid/sticky modes, xattrs (security.capability, user.*) as
 *   PAX records, a FIFO, 2000 small files;
 * - gnu (podman import of a GNU tar): GNU long name and long link records,
 *   a non-UTF-8 name;
 * - copy (podman build FROM scratch, three COPY layers): non-UTF-8 names, a
 *   directory that exists only in a later layer;
 * - deleted and sibling (podman build FROM base with RUN, chroot isolation):
 *   whiteouts, an opaque directory, new directories, a FIFO; both share
 *   base's layer.
 *
 * Every image has a /usr (composefs-rs makes no image without one) and the
 * layers are deterministic (fixed mtimes: tar --mtime, podman build
 * --timestamp), so their composefs image IDs have golden values
 * (test/vectors/oci) as long as the host's busybox is the same.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pack as tarPack, type Header, type Pack } from 'tar-stream';
import { createPodmanStore, havePodman, type FixtureImage, type PodmanStore } from './podman.js';
import type { Test } from 'uvu';
import { pattern } from './pattern.js';

export const IMAGE_NAMES = {
  base: 'localhost/cfskit-base:1',
  gnu: 'localhost/cfskit-gnu:1',
  copy: 'localhost/cfskit-copy:1',
  deleted: 'localhost/cfskit-deleted:1',
  sibling: 'localhost/cfskit-sibling:1',
} as const;

export type FixtureName = keyof typeof IMAGE_NAMES;

/** security.capability v2 granting cap_net_bind_service (bytes < 0x80 only). */
export const CAPABILITY = '\x01\x00\x00\x02\x00\x04\x00\x00' + '\x00'.repeat(12);
export const LONG_DIR = 'd'.repeat(120);
/** Over 255 bytes in all, components under NAME_MAX. */
export const VERY_LONG_PATH = `data/${'a'.repeat(200)}/${'b'.repeat(90)}/leaf`;
export const NON_UTF8 = Buffer.from([0x6c, 0x61, 0x74, 0x69, 0x6e, 0x2d, 0xe9, 0xff]);

/** The mtime of everything in the fixtures (podman build --timestamp too). */
export const FIXED_TIME = 1_700_000_000;
const TIMESTAMP = ['--timestamp', String(FIXED_TIME)];

function add(pack: Pack, header: Partial<Header> & Pick<Header, 'name'>, body?: Buffer | string): void {
  const full = { uid: 0, gid: 0, mtime: new Date(FIXED_TIME * 1000), ...header };
  if (body === undefined) pack.entry(full);
  else pack.entry(full, body);
}

async function writeTar(path: string, fill: (pack: Pack) => void): Promise<void> {
  const pack = tarPack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  fill(pack);
  pack.finalize();
  await done;
  await writeFile(path, Buffer.concat(chunks));
}

function baseTar(pack: Pack): void {
  for (const dir of ['usr', 'bin', 'etc', 'data', 'data/many', `data/${LONG_DIR}`, `data/${'a'.repeat(200)}`, `data/${'a'.repeat(200)}/${'b'.repeat(90)}`]) {
    add(pack, { name: `${dir}/`, type: 'directory', mode: 0o755 });
  }
  add(pack, { name: 'bin/busybox', mode: 0o755 }, readFileSync('/usr/bin/busybox'));
  for (const tool of ['sh', 'rm', 'mkdir', 'mkfifo', 'echo', 'ln', 'cp', 'cat', 'chmod', 'touch']) {
    add(pack, { name: `bin/${tool}`, type: 'symlink', linkname: 'busybox' });
  }
  add(pack, { name: 'etc/passwd', mode: 0o644 }, 'root:x:0:0:root:/root:/bin/sh\n');
  add(pack, { name: 'data/empty', mode: 0o644 }, Buffer.alloc(0));
  add(pack, { name: 'data/exact-64', mode: 0o644 }, pattern(64));
  add(pack, { name: 'data/exact-65', mode: 0o644 }, pattern(65, 1));
  add(pack, { name: 'data/big', mode: 0o644 }, pattern((1 << 20) + 7, 2));
  add(pack, { name: 'data/hard-65', type: 'link', linkname: 'data/exact-65' });
  add(pack, { name: 'data/sym-64', type: 'symlink', linkname: 'exact-64' });
  add(pack, { name: 'data/sym-long', type: 'symlink', linkname: `${LONG_DIR}/file-in-long-dir` });
  add(pack, { name: `data/${LONG_DIR}/file-in-long-dir`, mode: 0o644 }, 'long directory name\n');
  add(pack, { name: VERY_LONG_PATH, mode: 0o640 }, 'a path over 255 bytes\n');
  add(pack, { name: 'data/setuid', mode: 0o4755 }, '#!/bin/sh\n');
  add(pack, { name: 'data/setgid-dir/', type: 'directory', mode: 0o2775 });
  add(pack, { name: 'data/sticky/', type: 'directory', mode: 0o1777 });
  add(pack, {
    name: 'data/capable',
    mode: 0o755,
    pax: { 'SCHILY.xattr.security.capability': CAPABILITY, 'SCHILY.xattr.user.cfskit': 'fixture' },
  }, pattern(100, 3));
  add(pack, { name: 'data/fifo', type: 'fifo', mode: 0o644 });
  for (let i = 0; i < 2000; i++) {
    add(pack, { name: `data/many/f${String(i).padStart(4, '0')}`, mode: 0o644 }, pattern(i % 131, i));
  }
}

async function gnuTar(dir: string, tarPath: string): Promise<void> {
  const src = join(dir, 'gnu-src');
  const longDir = join(src, 'g'.repeat(150));
  await mkdir(longDir, { recursive: true });
  await mkdir(join(src, 'usr'));
  await writeFile(join(longDir, 'long-named-file-with-content'), pattern(3000, 4));
  await writeFile(Buffer.concat([Buffer.from(`${src}/`), NON_UTF8]), 'not utf-8\n');
  await symlink(join('g'.repeat(150), 'long-named-file-with-content'), join(src, 'long-link'));
  const r = spawnSync('tar', ['--format=gnu', '--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${FIXED_TIME}`, '-C', src, '-cf', tarPath, '.']);
  if (r.status !== 0) throw new Error(`tar failed: ${String(r.stderr)}`);
}

async function copyContext(dir: string): Promise<string> {
  const ctx = join(dir, 'copy-ctx');
  await mkdir(join(ctx, 'first/etc'), { recursive: true });
  await mkdir(join(ctx, 'first/usr'), { recursive: true });
  await mkdir(join(ctx, 'second/new/deep'), { recursive: true });
  await mkdir(join(ctx, 'third'), { recursive: true });
  await writeFile(join(ctx, 'first/etc/config'), pattern(64, 5));
  await writeFile(join(ctx, 'first/empty'), '');
  await writeFile(join(ctx, 'first/sixty-five'), pattern(65, 6));
  await writeFile(Buffer.concat([Buffer.from(`${ctx}/first/`), NON_UTF8]), pattern(200, 7));
  await writeFile(join(ctx, 'second/new/deep/file'), pattern(70_000, 8));
  await writeFile(join(ctx, 'third/replaced'), pattern(10, 9));
  await writeFile(
    join(ctx, 'Containerfile'),
    'FROM scratch\nCOPY first/ /\nCOPY second/ /later-only/\nCOPY third/ /etc/\n',
  );
  return ctx;
}

async function runContext(dir: string, name: string, from: string, steps: string[]): Promise<string> {
  const ctx = join(dir, name);
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, 'Containerfile'), [`FROM ${from}`, ...steps.map((s) => `RUN ${s}`), ''].join('\n'));
  return ctx;
}

/** Builds every fixture image in `store`. */
export async function buildHardContentImages(store: PodmanStore): Promise<Record<FixtureName, FixtureImage>> {
  const baseTarPath = join(store.dir, 'base.tar');
  await writeTar(baseTarPath, baseTar);
  const base = await store.importTar(baseTarPath, IMAGE_NAMES.base);
  const gnuTarPath = join(store.dir, 'gnu.tar');
  await gnuTar(store.dir, gnuTarPath);
  const gnu = await store.importTar(gnuTarPath, IMAGE_NAMES.gnu);
  const copy = await store.build(await copyContext(store.dir), IMAGE_NAMES.copy, TIMESTAMP);
  const deletedCtx = await runContext(store.dir, 'deleted-ctx', IMAGE_NAMES.base, [
    'rm /data/exact-64 /data/many/f0007 && rm -rf /data/sticky',
    // Removed and made again: an opaque directory in the layer.
    'rm -rf /data/many && mkdir -p /data/many /brand/new/dir && echo again > /data/many/only && mkfifo /brand/new/fifo',
  ]);
  const deleted = await store.build(deletedCtx, IMAGE_NAMES.deleted, TIMESTAMP);
  const siblingCtx = await runContext(store.dir, 'sibling-ctx', IMAGE_NAMES.base, ['echo sibling > /etc/sibling && chmod 4711 /etc/sibling']);
  const sibling = await store.build(siblingCtx, IMAGE_NAMES.sibling, TIMESTAMP);
  return { base, gnu, copy, deleted, sibling };
}

export interface HardContentContext {
  store?: PodmanStore;
  images?: Record<FixtureName, FixtureImage>;
}

/**
 * Gives `test` a podman store holding the hard-content images for its
 * tests, destroyed after them (or at once if building them fails). Nothing
 * is built where podman cannot run; the suite's gate then skips it.
 */
export function withHardContentImages<T extends HardContentContext>(test: Test<T>): void {
  test.before(async (ctx) => {
    if (havePodman() !== undefined) return;
    ctx.store = await createPodmanStore();
    try {
      ctx.images = await buildHardContentImages(ctx.store);
    } catch (err) {
      await ctx.store.destroy();
      ctx.store = undefined;
      throw err;
    }
  });
  test.after(async (ctx) => {
    await ctx.store?.destroy();
  });
}
