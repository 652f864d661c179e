/**
 * Images in a test registry for pulls without a container engine, from
 * the project's deterministic layers (oci-layers.ts): written as OCI
 * layouts here, compressed and pushed by skopeo.
 *
 * - `gzip`, `zstd`, `chunked`: the four-layer `layers` fixture, its layers
 *   gzip (skopeo's default for a registry), zstd, zstd:chunked;
 * - `multi`: an image index of two images, linux/amd64 (`single`) and
 *   linux/arm64 (`names`);
 * - `base`, `derived`: `single`, and `single` plus one more layer.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ociDocuments, writeOciLayout } from './oci-image-fixtures.js';
import { OCI_LAYERS } from './oci-layers.js';
import type { TestRegistry } from './registry.js';
import { run } from './cli.js';
import { file, tarBytes } from './tar-writer.js';

const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export const SOURCE_IMAGES = {
  gzip: 'fixtures/layers:gzip',
  zstd: 'fixtures/layers:zstd',
  chunked: 'fixtures/layers:zstd-chunked',
  multi: 'fixtures/multi:1',
  base: 'fixtures/base:1',
  derived: 'fixtures/derived:1',
} as const;

export type SourceImage = keyof typeof SOURCE_IMAGES;

export interface SourceFixtures {
  /** The uncompressed layer tars of each image, base first. */
  readonly layers: Record<Exclude<SourceImage, 'multi'>, readonly Buffer[]>;
  /** The layers of each platform of `multi`. */
  readonly platforms: { readonly amd64: readonly Buffer[]; readonly arm64: readonly Buffer[] };
  /** Uncompressed OCI layouts by name (`layers`, `base`, `derived`, `multi`). */
  readonly layouts: Readonly<Record<string, string>>;
}

async function skopeoCopy(args: readonly string[]): Promise<void> {
  const r = await run('skopeo', ['copy', '--quiet', ...args]);
  if (r.status !== 0) throw new Error(`skopeo copy ${args.join(' ')} failed: ${r.stderr}`);
}

/** An OCI layout whose index.json names one image index of `images`, one per platform. */
export async function writeIndexLayout(dir: string, images: readonly { layers: readonly Buffer[]; architecture: string }[]): Promise<void> {
  const blobs = join(dir, 'blobs/sha256');
  await mkdir(blobs, { recursive: true });
  const put = async (b: Buffer): Promise<string> => {
    await writeFile(join(blobs, sha256(b).slice(7)), b);
    return sha256(b);
  };
  const manifests = [];
  for (const image of images) {
    const base = ociDocuments(image.layers);
    const config = Buffer.from(JSON.stringify({ ...(JSON.parse(base.config.toString()) as object), architecture: image.architecture }));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: image.layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(l), size: l.length })),
      }),
    );
    for (const l of image.layers) await put(l);
    await put(config);
    manifests.push({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: await put(manifest), size: manifest.length, platform: { os: 'linux', architecture: image.architecture } });
  }
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests }));
  const indexDigest = await put(index);
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: indexDigest, size: index.length }] }));
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
}

/** Writes the layouts under `work` and pushes the images of SOURCE_IMAGES (`only` these, if given) to `registry`. */
export async function pushSourceFixtures(registry: TestRegistry, work: string, only?: readonly SourceImage[]): Promise<SourceFixtures> {
  const wanted = (image: SourceImage): boolean => only === undefined || only.includes(image);
  const layered = OCI_LAYERS.layers();
  const base = OCI_LAYERS.single();
  const derived = [...base, tarBytes([file('etc/derived', 'on top of the base\n')])];
  const layouts = { layers: join(work, 'layout-layers'), base: join(work, 'layout-base'), derived: join(work, 'layout-derived'), multi: join(work, 'layout-multi') };
  await writeOciLayout(layouts.layers, layered);
  await writeOciLayout(layouts.base, base);
  await writeOciLayout(layouts.derived, derived);
  const platforms = { amd64: OCI_LAYERS.single(), arm64: OCI_LAYERS.names() };
  await writeIndexLayout(layouts.multi, [
    { layers: platforms.amd64, architecture: 'amd64' },
    { layers: platforms.arm64, architecture: 'arm64' },
  ]);
  if (wanted('gzip')) await registry.push(`oci:${layouts.layers}`, SOURCE_IMAGES.gzip);
  for (const [format, image] of [['zstd', 'zstd'], ['zstd:chunked', 'chunked']] as const) {
    if (!wanted(image)) continue;
    const name = SOURCE_IMAGES[image];
    // Compressed into a layout first, then pushed byte for byte.
    const compressed = join(work, `layout-${format.replace(':', '-')}`);
    await skopeoCopy(['--dest-compress-format', format, `oci:${layouts.layers}`, `oci:${compressed}`]);
    await registry.push(`oci:${compressed}`, name, ['--preserve-digests']);
  }
  if (wanted('multi')) await registry.push(`oci:${layouts.multi}`, SOURCE_IMAGES.multi, ['--all']);
  if (wanted('base')) await registry.push(`oci:${layouts.base}`, SOURCE_IMAGES.base);
  if (wanted('derived')) await registry.push(`oci:${layouts.derived}`, SOURCE_IMAGES.derived);
  return { layers: { gzip: layered, zstd: layered, chunked: layered, base, derived }, platforms, layouts };
}

/** The manifest the registry serves for `name` (a tag), and its layers' media types. */
export async function registryManifest(
  registry: TestRegistry,
  name: string,
): Promise<{ mediaType: string; config: { digest: string }; layers: { mediaType: string; digest: string; size: number }[] }> {
  const r = await run('skopeo', ['inspect', '--raw', ...registry.skopeoArgs('src').map((a) => a.replace('--src-', '--')), registry.ref(name)]);
  if (r.status !== 0) throw new Error(`skopeo inspect ${name}: ${r.stderr}`);
  return JSON.parse(r.stdout) as { mediaType: string; config: { digest: string }; layers: { mediaType: string; digest: string; size: number }[] };
}
