import { NotFoundError, UsageError } from '../../common/index.js';
import { CSTOR_PREFIX, findMatchingBootImage, pullFromContainersStorage, type PullResult } from '../../src/oci/index.js';
import { isObjectId, type ObjectId, type Repository } from '../../src/repository/index.js';
import { isSourceReference } from '../../src/source/index.js';
import { command } from '../command.js';
import { runDirectPull } from '../direct-pull.js';
import { runStoragePull } from '../storage-pull.js';
import type { StoragePullResult } from '../../src/pull/index.js';
import { progressSink, type ProgressMode } from '../import-progress.js';
import { printJson } from '../output.js';
import { withRepository } from '../repo.js';
import { givenSourceOptions, sourceArgs, sourceOptions } from '../source-args.js';
import { storageArgs, storageOptions } from '../storage-args.js';
import { XATTRS, xattrMode } from '../tree-args.js';

const args = {
  image: {
    type: 'positional',
    required: true,
    valueHint: 'SOURCE',
    description:
      'containers-storage:REF (name, ID, ID prefix or @digest), oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REF] or docker://REF; with --storage-root also dir:DIR and anything podman pulls',
  },
  name: { type: 'positional', required: false, valueHint: 'NAME', description: 'tag to give it (default: the reference as given)' },
  localFetch: {
    type: 'enum',
    options: ['auto', 'zerocopy'] as string[],
    default: 'auto',
    description: 'auto: reflink, else hardlink, else copy; zerocopy: fail rather than copy',
  },
  ...storageArgs,
  runRoot: { type: 'string', valueHint: 'DIR', description: "podman's run root for --storage-root (default: one fixed per store under /run/cfskit)" },
  sysroot: {
    type: 'string',
    valueHint: 'DIR',
    description: 'a bootc system: repository DIR/composefs, store DIR/composefs/bootc/storage, tag localhost/bootc-<manifest digest> unless NAME',
  },
  fromStorageRoot: { type: 'string', valueHint: 'SRC', description: 'copy containers-storage:REF from the store at SRC into --storage-root first (the install path)' },
  ...sourceArgs,
  bootable: { type: 'boolean', description: 'also make the bootable composefs image (empty /boot and /sysroot, SELinux labels)' },
  expectedDigest: {
    type: 'string',
    valueHint: 'HEX',
    description: 'with --bootable: find the xattr mode and EROFS format whose boot image has this ID (e.g. one a UKI names) and keep that boot image',
  },
  xattrs: { ...XATTRS, description: 'xattr mode of the images made (another than allowlist-only makes the default plain image as well)' },
  json: { type: 'boolean', description: 'print the result and statistics as JSON' },
  progress: { type: 'enum', options: ['auto', 'bar', 'json', 'none'] as string[], default: 'auto', description: 'progress display (json: one object per line on stderr)' },
  progressFd: { type: 'string', valueHint: 'N', description: "bootc's progress protocol (JSON Lines) on file descriptor N (not for containers-storage:)" },
} as const;

export default command({
  meta: { name: 'pull', description: 'Import an image from containers-storage without copying its data, or from an OCI layout, an archive or a registry' },
  args,
  async run({ args: parsed }) {
    const expected = parsed.expectedDigest;
    if (expected !== undefined && parsed.bootable !== true) throw new UsageError('--expected-digest needs --bootable');
    // The search makes the boot image it finds; nothing else is guessed.
    const bootable = parsed.bootable === true && expected === undefined;
    const xattrs = xattrMode(parsed.xattrs);
    // Inside the repository's lock, either source: a malformed digest fails
    // before anything is pulled (as cfsctl), the search right after the pull.
    const withMatch = async (repo: Repository, pull: () => Promise<PullResult>) => {
      if (expected !== undefined && !isObjectId(expected, repo.hashAlg)) {
        throw new UsageError(`--expected-digest "${expected}" is not a ${repo.hashAlg} digest (hex)`);
      }
      const result = await pull();
      const match = expected === undefined ? undefined : await findMatchingBootImage(repo, result.manifestDigest, expected as ObjectId);
      return { result, match };
    };
    const started = process.hrtime.bigint();
    let outcome: Awaited<ReturnType<typeof withMatch>>;
    let stored: StoragePullResult | undefined;
    const storageRoot = parsed.storageRoot;
    const unified = parsed.sysroot !== undefined || (storageRoot !== undefined && (!parsed.image.startsWith(CSTOR_PREFIX) || parsed.fromStorageRoot !== undefined));
    if (!unified) {
      const misplaced = [['--run-root', parsed.runRoot], ['--from-storage-root', parsed.fromStorageRoot]].filter(([, v]) => v !== undefined).map(([k]) => k);
      if (misplaced.length > 0) throw new UsageError(`${misplaced.join(', ')}: only with --storage-root or --sysroot`);
    }
    if (unified) {
      if (parsed.sysroot !== undefined && storageRoot !== undefined) throw new UsageError('--sysroot names the store (DIR/composefs/bootc/storage): give it or --storage-root, not both');
      if (parsed.sysroot !== undefined && (parsed.repo !== undefined || parsed.user || parsed.system)) {
        throw new UsageError('--sysroot names the repository (DIR/composefs): give it or --repo/--user/--system, not both');
      }
      const misplaced = [
        ...(parsed.additionalImageStore.length > 0 ? ['--additional-image-store'] : []),
        ...(parsed.maxExpansion !== undefined ? ['--max-expansion'] : []),
        ...(parsed.image.startsWith(CSTOR_PREFIX) ? givenSourceOptions(parsed).filter((o) => o !== '--max-expansion') : []),
      ];
      if (misplaced.length > 0) throw new UsageError(`${misplaced.join(', ')}: not for this pull (stage 1 is podman's, stage 2 reads the store)`);
      const source = sourceOptions(parsed);
      const pulled = await runStoragePull(
        parsed,
        {
          reference: parsed.image,
          sysroot: parsed.sysroot,
          options: {
            storageRoot,
            ...(parsed.runRoot !== undefined ? { runRoot: parsed.runRoot } : {}),
            ...(parsed.fromStorageRoot !== undefined ? { fromStorageRoot: parsed.fromStorageRoot } : {}),
            ...(parsed.name ? { tag: parsed.name } : {}),
            zerocopy: parsed.localFetch === 'zerocopy',
            bootable,
            xattrs,
            ...(source.platform ? { platform: source.platform } : {}),
            ...(source.credentials ? { credentials: source.credentials } : {}),
            ...(source.authFile !== undefined ? { authFile: source.authFile } : {}),
            ...(source.tls ? { tls: source.tls } : {}),
          },
          progress: parsed.progress as ProgressMode,
          progressFd: parsed.progressFd,
        },
        withMatch,
      );
      stored = pulled.stored;
      outcome = pulled.outcome;
    } else if (isSourceReference(parsed.image)) {
      // (--storage-root made this a pull through that store, above.)
      const cstorOnly = [...(parsed.additionalImageStore.length > 0 ? ['--additional-image-store'] : []), ...(parsed.localFetch !== 'auto' ? ['--local-fetch'] : [])];
      if (cstorOnly.length > 0) {
        throw new UsageError(`${cstorOnly.join(', ')}: for containers-storage: sources (or a pull through --storage-root DIR); ${parsed.image} is read directly`);
      }
      outcome = await runDirectPull(
        parsed,
        {
          reference: parsed.image,
          options: { ...sourceOptions(parsed), ...(parsed.name ? { tag: parsed.name } : {}), bootable, xattrs },
          progress: parsed.progress as ProgressMode,
          progressFd: parsed.progressFd,
        },
        withMatch,
      );
    } else {
      if (!parsed.image.startsWith(CSTOR_PREFIX)) {
        throw new UsageError(`unknown source "${parsed.image}" (containers-storage:, oci:, oci-archive:, docker-archive: or docker://)`);
      }
      const misplaced = [...givenSourceOptions(parsed), ...(parsed.progressFd !== undefined ? ['--progress-fd'] : [])];
      if (misplaced.length > 0) throw new UsageError(`${misplaced.join(', ')}: not for containers-storage: sources`);
      const progress = progressSink(parsed.progress as ProgressMode);
      outcome = await withRepository(parsed, { write: true }, (repo) =>
        withMatch(repo, () =>
          pullFromContainersStorage(repo, parsed.image, {
            ...(parsed.name ? { tag: parsed.name } : {}),
            zerocopy: parsed.localFetch === 'zerocopy',
            bootable,
            xattrs,
            storage: storageOptions(parsed),
            ...(progress.sink ? { progress: progress.sink } : {}),
          }).finally(() => progress.done()),
        ),
      );
    }
    const { result, match } = outcome;
    if (match && !match.found) {
      throw new NotFoundError(
        `--expected-digest ${expected}`,
        `no boot image configuration matched (tried ${match.tried} mode/version combinations); the image is pulled, without a boot image`,
      );
    }
    const bootImage = match?.found ? match.imageId : result.bootImage;
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (parsed.json) {
      printJson({
        manifest: result.manifestDigest,
        config: result.configDigest,
        manifestVerity: result.manifestStream,
        configVerity: result.configStream,
        tag: result.tag,
        imageId: result.imageId,
        composefsImage: result.composefsImage ?? null,
        ...(bootImage !== undefined ? { bootImage } : {}),
        ...(match?.found ? { bootImageXattrs: match.xattrs, bootImageErofsVersion: match.erofsVersion } : {}),
        stats: result.stats.toJSON(),
        ...(stored
          ? {
              storage: {
                root: stored.store.root,
                runRoot: stored.store.runRoot,
                created: stored.storeCreated,
                stage1: stored.fetchMethod,
                podmanVersion: stored.podmanVersion ?? null,
                copiedFrom: stored.copiedFrom ?? null,
                layers: stored.storeLayers.layers,
                layersPresent: stored.storeLayers.present,
              },
            }
          : {}),
        elapsedSeconds: Number(seconds.toFixed(3)),
      });
    } else {
      const boot = match?.found
        ? `Boot image: ${match.imageId} (xattr-mode=${match.xattrs}, format-version=V${match.erofsVersion})\n`
        : bootImage !== undefined
          ? `Boot image: ${bootImage}\n`
          : '';
      process.stdout.write(
        `manifest ${result.manifestDigest}\nconfig   ${result.configDigest}\nverity   ${result.manifestStream}\n` +
          `tagged   ${result.tag}\nobjects  ${result.stats.summary()}\n${boot}` +
          (stored ? storedLines(stored) : ''),
      );
    }
    return 0;
  },
});

function storedLines(stored: StoragePullResult): string {
  const how: Record<StoragePullResult['fetchMethod'], string> = {
    'libpod-api': 'podman API (libpod)',
    'compat-api': 'podman API (Docker-compatible)',
    'podman-pull': 'podman pull',
    copy: `skopeo copy from ${stored.copiedFrom ?? ''}`,
    none: 'already there',
  };
  const fetched = stored.storeLayers.layers - stored.storeLayers.present;
  return `store    ${stored.store.root} (${how[stored.fetchMethod]}; ${fetched} of ${stored.storeLayers.layers} layers fetched)\n`;
}
