/**
 * A bootc composefs sysroot made for tests, with real components: the
 * system containers-storage at `composefs/bootc/storage` made by podman
 * and skopeo (OCI layouts copied in byte for byte), OS images sharing a
 * base layer pulled from it into the repository as bootc's unified pull
 * leaves them (bootable composefs image, tag `localhost/bootc-<digest>`),
 * deployments under `state/deploy/<id>/` with origins as bootc writes
 * them, and the boot state (a kernel command line, bootc's staged record,
 * BLS entries) in files of the fixture's own.
 */
import { mkdir, mkdtemp, rm, symlink as symlinkFs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pullFromContainersStorage, tagImage, untagImage } from '../../src/oci/index.js';
import { Repository } from '../../src/repository/index.js';
import { bootcTag, SysrootLayout } from '../../src/sysroot/index.js';
import { writeOciLayout } from './oci-image-fixtures.js';
import { pattern } from './pattern.js';
import { createPodmanStore, type PodmanStore } from './podman.js';
import { dir, file, symlink, tarBytes, type TarMember } from './tar-writer.js';

export const SYSTEMD_DIR = 'usr/share/containers/systemd';
export const BOUND_DIR = 'usr/lib/bootc/bound-images.d';

export interface OsImage {
  readonly name: string;
  readonly manifestDigest: string;
  /** The bootable composefs image: the deployment ID. */
  readonly bootId: string;
  /** containers-storage image ID. */
  readonly storeId: string;
}

export interface BoundSpec {
  /** Entry name in bound-images.d (`app-a.image`). */
  readonly entry: string;
  /** Its `Image=`; undefined for entries that are not links to a unit file. */
  readonly image?: string;
  /** Members that make the entry (a link to a unit file, by default). */
  readonly members?: TarMember[];
}

export interface Sysroot {
  readonly root: string;
  readonly layout: SysrootLayout;
  readonly store: PodmanStore;
  /** Files that stand in for /proc/cmdline and /run/composefs/staged-deployment. */
  readonly kernelCmdline: string;
  readonly stagedFile: string;
  readonly images: Map<string, OsImage>;
  /** Imports an app image (one layer) into the store; returns its store ID. */
  addApp(name: string): Promise<string>;
  /** Makes an OS image and pulls it into the repository (bootc-tagged). */
  addOs(name: string, bound: readonly BoundSpec[]): Promise<OsImage>;
  /** Writes a deployment of `image` (origin as bootc writes it). */
  deploy(image: OsImage, origin?: string): Promise<void>;
  /** The boot state: which deployment is booted, staged, and the BLS entries' order (first = default). */
  setBootState(state: { booted: OsImage; staged?: OsImage; entries: readonly OsImage[] }): Promise<void>;
  destroy(): Promise<void>;
}

const BASE: TarMember[] = [
  dir('usr'),
  dir('usr/bin'),
  dir('usr/lib'),
  dir('usr/lib/bootc'),
  dir('usr/share'),
  dir('usr/share/containers'),
  dir(SYSTEMD_DIR),
  dir('etc'),
  dir('boot'),
  dir('sysroot'),
  file('usr/bin/sh', pattern(4096, 1)),
  file('usr/lib/libc.so', pattern(20000, 2)),
];

/** Content of its own for each name (so no two fixture images are one). */
const unique = (name: string, size: number): Buffer => Buffer.concat([Buffer.from(`${name}\n`), pattern(size)]);

/** The usual entry: a relative or absolute link to a unit file in SYSTEMD_DIR. */
export function boundLink(entry: string, image: string, absolute = false): BoundSpec {
  const kind = entry.endsWith('.container') ? 'Container' : 'Image';
  return {
    entry,
    image,
    members: [
      file(`${SYSTEMD_DIR}/${entry}`, `[${kind}]\nImage=${image}\n`),
      symlink(`${BOUND_DIR}/${entry}`, absolute ? `/${SYSTEMD_DIR}/${entry}` : `../../../share/containers/systemd/${entry}`),
    ],
  };
}

export async function createSysroot(): Promise<Sysroot> {
  const root = await mkdtemp(join(tmpdir(), 'cfskit-sysroot-'));
  const layout = new SysrootLayout(root);
  const repo = await Repository.init(layout.repository, { insecure: true });
  await repo.close();
  const store = await createPodmanStore({ root: layout.storage });
  await mkdir(join(root, 'ostree'), { recursive: true });
  await symlinkFs('../composefs/bootc', layout.compatLink);
  const work = join(root, 'fixture');
  await mkdir(work, { recursive: true });
  const images = new Map<string, OsImage>();
  const base = tarBytes(BASE);

  const copyIn = async (name: string, layers: Buffer[]): Promise<string> => {
    const layoutDir = join(work, name.replace(/[^a-z0-9]/g, '_'));
    await writeOciLayout(layoutDir, layers);
    return (await store.copyOciLayout(layoutDir, name)).id;
  };

  return {
    root,
    layout,
    store,
    kernelCmdline: join(work, 'cmdline'),
    stagedFile: join(work, 'staged-deployment'),
    images,
    async addApp(name) {
      return copyIn(name, [tarBytes([dir('app'), file('app/run', unique(name, 3000))])]);
    },
    async addOs(name, bound) {
      const members: TarMember[] = [dir(BOUND_DIR), file('usr/lib/os-release', `NAME=${name}\n`), file('usr/bin/tool', unique(name, 6000))];
      for (const b of bound) members.push(...(b.members ?? boundLink(b.entry, b.image ?? '').members ?? []));
      const storeId = await copyIn(name, [base, tarBytes(members)]);
      const opened = await Repository.open(layout.repository, { write: true });
      try {
        const pulled = await pullFromContainersStorage(opened, `containers-storage:${name}`, { tag: `pull/${name}`, bootable: true, storage: { storageRoot: store.root } });
        await tagImage(opened, pulled.manifestDigest, bootcTag(pulled.manifestDigest));
        await untagImage(opened, `pull/${name}`);
        if (pulled.bootImage === undefined) throw new Error(`${name}: no bootable image`);
        const image = { name, manifestDigest: pulled.manifestDigest, bootId: pulled.bootImage, storeId };
        images.set(name, image);
        return image;
      } finally {
        await opened.close();
      }
    },
    async deploy(image, origin) {
      await mkdir(layout.deploymentDir(image.bootId), { recursive: true });
      const text =
        origin ??
        `[origin]\ncontainer-image-reference = ostree-unverified-image:containers-storage:${image.name}\n\n[boot]\nboot_type = bls\ndigest = ${'0'.repeat(64)}\n\n[image]\nmanifest_digest = ${image.manifestDigest}\n`;
      await writeFile(layout.originFile(image.bootId), text);
    },
    async setBootState(state) {
      await writeFile(join(work, 'cmdline'), `BOOT_IMAGE=/vmlinuz rw composefs=${state.booted.bootId}\n`);
      const staged = join(work, 'staged-deployment');
      if (state.staged) await writeFile(staged, JSON.stringify({ depl_id: state.staged.bootId, finalization_locked: false }));
      else await rm(staged, { force: true });
      const entries = join(root, 'boot/loader/entries');
      await mkdir(entries, { recursive: true });
      for (const [i, image] of state.entries.entries()) {
        await writeFile(join(entries, `bootc_${i}.conf`), `title ${image.name}\nversion ${state.entries.length - i}\nlinux /vmlinuz\noptions rw composefs=${image.bootId}\n`);
      }
    },
    async destroy() {
      await store.destroy();
      await rm(root, { recursive: true, force: true });
    },
  };
}

export async function withSysroot<T>(body: (sysroot: Sysroot) => Promise<T>): Promise<T> {
  const sysroot = await createSysroot();
  try {
    return await body(sysroot);
  } finally {
    await sysroot.destroy();
  }
}

/** The store's image names, sorted, through podman. */
export async function storeNames(store: PodmanStore): Promise<string[]> {
  const listed = JSON.parse(await store.podman(['image', 'list', '--format', 'json'])) as { Names?: string[] }[];
  return [...new Set(listed.flatMap((i) => i.Names ?? []))].sort();
}
