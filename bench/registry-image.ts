/**
 * The benchmark image of bench/pull-direct and bench/pull: ≈TOTAL MiB in 3
 * layers (1/2, 1/3, 1/6) of files sized like /usr (≈35 KiB on average,
 * about half of their bytes compressible), written as plain tars into an
 * OCI layout and pushed to a test registry (skopeo compresses them gzip).
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestRegistry } from '../test/support/registry.js';

const WORDS = 'the of and to in is for on that by with from this be are or as at an not it have which all can one will'.split(' ');

/** A file's content: random bytes (incompressible) and text (compresses well), half and half. */
function content(size: number, seed: number): Buffer {
  const half = Math.floor(size / 2);
  const text: string[] = [];
  let length = 0;
  for (let i = 0; length < size - half; i++) {
    const w = WORDS[(seed + i * 7 + (i >> 3)) % WORDS.length] ?? 'x';
    text.push(w);
    length += w.length + 1;
  }
  return Buffer.concat([randomBytes(half), Buffer.from(text.join(' ')).subarray(0, size - half)]);
}

/** Sizes like /usr: mostly small, a long tail; ≈35 KiB on average. */
function sizeOf(i: number): number {
  const r = (i * 2654435761) % 1000;
  if (r < 600) return 100 + ((i * 37) % 3900);
  if (r < 920) return 4096 + ((i * 131) % 40000);
  if (r < 997) return 45000 + ((i * 7919) % 300000);
  return (1 << 20) + ((i * 104729) % (6 << 20));
}

async function writeLayerDir(dir: string, layer: number, bytes: number): Promise<number> {
  let written = 0;
  for (let i = 0; written < bytes; i++) {
    const sub = join(dir, `usr/lib/l${layer}/d${i % 100}`);
    if (i < 100) await mkdir(sub, { recursive: true });
    const size = sizeOf(i + layer * 100_000);
    await writeFile(join(sub, `f${i}`), content(size, i + layer));
    written += size;
  }
  return written;
}

async function sha256File(path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

export interface PushedImage {
  readonly ref: string;
  readonly files: number;
  readonly uncompressed: number;
  readonly compressed: number;
}

/** Builds the image under `work` and pushes it to `registry` as `name`. */
export async function pushBenchImage(registry: TestRegistry, work: string, totalMiB: number, name = 'bench/pull:1'): Promise<PushedImage> {
  // Three layers of 1/2, 1/3 and 1/6 of the total, as plain tars in an OCI layout.
  const layout = join(work, 'layout');
  const blobs = join(layout, 'blobs/sha256');
  await mkdir(blobs, { recursive: true });
  const layers: { digest: string; size: number }[] = [];
  let files = 0;
  for (const [n, share] of [3, 2, 1].entries()) {
    const dir = join(work, `layer${n}`);
    await writeLayerDir(dir, n, Math.round((totalMiB << 20) * (share / 6)));
    files += Number(execFileSync('bash', ['-c', `find ${dir} -type f | wc -l`]).toString());
    const tar = join(work, `layer${n}.tar`);
    execFileSync('tar', ['-C', dir, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@1700000000', '-cf', tar, '.']);
    await rm(dir, { recursive: true });
    const blob = await sha256File(tar);
    await rename(tar, join(blobs, blob.digest.slice(7)));
    layers.push(blob);
  }
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) }, config: {} }));
  const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l })),
    }),
  );
  const manifestDigest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
  await writeFile(join(blobs, configDigest.slice(7)), config);
  await writeFile(join(blobs, manifestDigest.slice(7)), manifest);
  await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifestDigest, size: manifest.length }] }));
  await writeFile(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await registry.push(`oci:${layout}`, name);
  await rm(layout, { recursive: true });
  const ref = registry.ref(name);
  const uncompressed = layers.reduce((n, l) => n + l.size, 0);
  const pushed = JSON.parse(execFileSync('skopeo', ['inspect', '--raw', '--tls-verify=false', ref]).toString()) as { layers: { size: number }[] };
  const compressed = pushed.layers.reduce((n, l) => n + l.size, 0);
  return { ref, files, uncompressed, compressed };
}
