/**
 * The OCI fixture images whose composefs images have golden values
 * (test/vectors/oci): every byte of them is fixed, so their image IDs,
 * dumpfiles and (config and manifest JSON included) their streams' object
 * IDs never change between runs.
 *
 * - single, layers, names, selinux: OCI layouts written here (layer tars from
 *   oci-layers.ts, fixed config and manifest JSON), copied into
 *   containers-storage with `skopeo copy`, which keeps every byte;
 * - built: `podman build --timestamp` (RUN steps with chroot isolation:
 *   real whiteouts and opaque directories as podman makes them) on top of
 *   `busybox`, an OCI layout holding the host's static busybox — the one
 *   input that comes from the host, recorded in the goldens.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OCI_LAYERS } from './oci-layers.js';
import type { FixtureImage, PodmanStore } from './podman.js';
import { dir, file, symlink, tarBytes } from './tar-writer.js';

export const BUSYBOX = '/usr/bin/busybox';
export const OCI_FIXTURE_TIMESTAMP = 1_700_000_000;

export interface OciFixture {
  readonly name: string;
  readonly tag: string;
  readonly about: string;
  /** Has /boot and /sysroot: the bootable variant can be made. */
  readonly bootable: boolean;
}

export const OCI_FIXTURES = {
  single: { name: 'single', tag: 'localhost/cfskit-oci-single:1', about: 'one layer, every member type', bootable: true },
  layers: { name: 'layers', tag: 'localhost/cfskit-oci-layers:1', about: 'four layers: whiteouts, opaque dirs, replacements', bootable: false },
  names: { name: 'names', tag: 'localhost/cfskit-oci-names:1', about: 'names to escape, names that are not UTF-8', bootable: false },
  selinux: { name: 'selinux', tag: 'localhost/cfskit-oci-selinux:1', about: 'an SELinux policy in /etc/selinux', bootable: true },
  busybox: { name: 'busybox', tag: 'localhost/cfskit-oci-busybox:1', about: "the host's static busybox, /boot, /sysroot", bootable: true },
  built: { name: 'built', tag: 'localhost/cfskit-oci-built:1', about: 'podman build --timestamp: RUN rm, rm -rf + mkdir, ln, mkfifo', bootable: true },
} as const satisfies Record<string, OciFixture>;

export type OciFixtureName = keyof typeof OCI_FIXTURES;

const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export interface OciDocuments {
  readonly config: Buffer;
  readonly manifest: Buffer;
  readonly diffIds: readonly string[];
}

/** Fixed config and manifest JSON for uncompressed `layers`. */
export function ociDocuments(layers: readonly Buffer[]): OciDocuments {
  const diffIds = layers.map(sha256);
  const created = new Date(OCI_FIXTURE_TIMESTAMP * 1000).toISOString().replace('.000Z', 'Z');
  const config = Buffer.from(
    JSON.stringify({
      created,
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/usr/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: layers.map((_, i) => ({ created, created_by: `cfskit fixture layer ${i + 1}` })),
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: layers.map((l, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: diffIds[i], size: l.length })),
    }),
  );
  return { config, manifest, diffIds };
}

/** An OCI image layout directory holding one image. */
export async function writeOciLayout(layoutDir: string, layers: readonly Buffer[]): Promise<OciDocuments> {
  const docs = ociDocuments(layers);
  const blobs = join(layoutDir, 'blobs/sha256');
  await mkdir(blobs, { recursive: true });
  for (const blob of [...layers, docs.config, docs.manifest]) await writeFile(join(blobs, sha256(blob).slice(7)), blob);
  const index = {
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(docs.manifest), size: docs.manifest.length }],
  };
  await writeFile(join(layoutDir, 'index.json'), JSON.stringify(index));
  await writeFile(join(layoutDir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  return docs;
}

const TOOLS = ['sh', 'rm', 'mkdir', 'echo', 'ln', 'mkfifo', 'chmod', 'cat'];

/** The busybox base: /usr/bin/busybox from the host, /bin → usr/bin. */
export function busyboxLayers(): Buffer[] {
  return [
    tarBytes([
      dir('usr/'),
      dir('usr/bin/'),
      file('usr/bin/busybox', readFileSync(BUSYBOX), { mode: 0o755 }),
      ...TOOLS.map((t) => symlink(`usr/bin/${t}`, 'busybox')),
      symlink('bin', 'usr/bin'),
      dir('etc/'),
      file('etc/removed', 'removed\n'),
      file('etc/keep', 'keep\n'),
      dir('data/'),
      dir('data/dir/'),
      file('data/dir/x', 'x\n'),
      dir('data/dir/sub/'),
      file('data/dir/sub/y', 'y\n'),
      dir('boot/'),
      dir('sysroot/'),
      dir('tmp/', { mode: 0o1777 }),
    ]),
  ];
}

/** The RUN steps of `built`, one layer each. */
export const BUILT_STEPS = [
  'rm /etc/removed && rm -rf /data/dir && mkdir -p /data/dir && echo again > /data/dir/only',
  'ln /etc/keep /etc/keep-link && mkfifo /data/fifo && mkdir -p /new/deep && echo n > /new/deep/file && chmod 4711 /new/deep/file',
];

/** The host busybox's sha256, which the `busybox` and `built` goldens depend on. */
export function busyboxDigest(): string {
  return sha256(readFileSync(BUSYBOX));
}

/** Builds every OCI fixture image in `store`. */
export async function buildOciFixtures(store: PodmanStore): Promise<Record<OciFixtureName, FixtureImage>> {
  const layouts = async (name: 'single' | 'layers' | 'names' | 'selinux' | 'busybox', layers: Buffer[]): Promise<FixtureImage> => {
    const layout = join(store.dir, `layout-${name}`);
    await writeOciLayout(layout, layers);
    return store.copyOciLayout(layout, OCI_FIXTURES[name].tag);
  };
  const single = await layouts('single', OCI_LAYERS.single());
  const layers = await layouts('layers', OCI_LAYERS.layers());
  const names = await layouts('names', OCI_LAYERS.names());
  const selinux = await layouts('selinux', OCI_LAYERS.selinux());
  const busybox = await layouts('busybox', busyboxLayers());
  const ctx = join(store.dir, 'built-ctx');
  await mkdir(ctx, { recursive: true });
  await writeFile(join(ctx, 'Containerfile'), [`FROM ${OCI_FIXTURES.busybox.tag}`, ...BUILT_STEPS.map((s) => `RUN ${s}`), ''].join('\n'));
  const built = await store.build(ctx, OCI_FIXTURES.built.tag, ['--timestamp', String(OCI_FIXTURE_TIMESTAMP)]);
  return { single, layers, names, selinux, busybox, built };
}
