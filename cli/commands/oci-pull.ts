import { UsageError } from '../../src/errors.js';
import { CSTOR_PREFIX, pullFromContainersStorage, type PullResult } from '../../src/oci/index.js';
import { isSourceReference } from '../../src/source/index.js';
import { command, optionValues } from '../command.js';
import { runDirectPull } from '../direct-pull.js';
import { globals } from '../globals.js';
import { selectedRepositoryPath } from '../repo.js';
import { runStoragePull } from '../storage-pull.js';
import type { StoragePullResult } from '../../src/pull/index.js';
import { progressSink, type ProgressMode } from '../import-progress.js';
import { printJson } from '../output.js';
import { withRepository } from '../repo.js';
import { givenSourceOptions, sourceArgs, sourceOptions } from '../source-args.js';
import { storageArgs, storageOptions } from '../storage-args.js';

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
  json: { type: 'boolean', description: 'print the result and statistics as JSON' },
  progress: { type: 'enum', options: ['auto', 'bar', 'json', 'none'] as string[], default: 'auto', description: 'progress display (json: one object per line on stderr)' },
  progressFd: { type: 'string', valueHint: 'N', description: "bootc's progress protocol (JSON Lines) on file descriptor N (not for containers-storage:)" },
} as const;

export default command({
  meta: { name: 'pull', description: 'Import an image from containers-storage without copying its data, or from an OCI layout, an archive or a registry' },
  args,
  async run({ args: parsed, rawArgs }) {
    const started = process.hrtime.bigint();
    let result: PullResult;
    let stored: StoragePullResult | undefined;
    const storageRoot = optionValues(args, rawArgs, 'storageRoot');
    const unified = parsed.sysroot !== undefined || (storageRoot.length > 0 && (!parsed.image.startsWith(CSTOR_PREFIX) || parsed.fromStorageRoot !== undefined));
    if (!unified) {
      const misplaced = [['--run-root', parsed.runRoot], ['--from-storage-root', parsed.fromStorageRoot]].filter(([, v]) => v !== undefined).map(([k]) => k);
      if (misplaced.length > 0) throw new UsageError(`${misplaced.join(', ')}: only with --storage-root or --sysroot`);
    }
    if (unified) {
      if (parsed.sysroot !== undefined && storageRoot.length > 0) throw new UsageError('--sysroot names the store (DIR/composefs/bootc/storage): give it or --storage-root, not both');
      const g = globals();
      if (parsed.sysroot !== undefined && (g.repo !== undefined || g.user || g.system)) throw new UsageError('--sysroot names the repository (DIR/composefs): give it or --repo/--user/--system, not both');
      if (storageRoot.length > 1) throw new UsageError('option --storage-root given more than once');
      const misplaced = [
        ...(optionValues(args, rawArgs, 'additionalImageStore').length > 0 ? ['--additional-image-store'] : []),
        ...(parsed.maxExpansion !== undefined ? ['--max-expansion'] : []),
        ...(parsed.image.startsWith(CSTOR_PREFIX) ? givenSourceOptions(parsed, rawArgs).filter((o) => o !== '--max-expansion') : []),
      ];
      if (misplaced.length > 0) throw new UsageError(`${misplaced.join(', ')}: not for this pull (stage 1 is podman's, stage 2 reads the store)`);
      const source = sourceOptions(parsed);
      stored = await runStoragePull({
        reference: parsed.image,
        repository: parsed.sysroot === undefined ? selectedRepositoryPath() : '',
        sysroot: parsed.sysroot,
        options: {
          storageRoot: storageRoot[0],
          ...(parsed.runRoot !== undefined ? { runRoot: parsed.runRoot } : {}),
          ...(parsed.fromStorageRoot !== undefined ? { fromStorageRoot: parsed.fromStorageRoot } : {}),
          ...(parsed.name ? { tag: parsed.name } : {}),
          zerocopy: parsed.localFetch === 'zerocopy',
          bootable: parsed.bootable === true,
          ...(source.platform ? { platform: source.platform } : {}),
          ...(source.credentials ? { credentials: source.credentials } : {}),
          ...(source.authFile !== undefined ? { authFile: source.authFile } : {}),
          ...(source.tls ? { tls: source.tls } : {}),
        },
        progress: parsed.progress as ProgressMode,
        progressFd: parsed.progressFd,
      });
      result = stored;
    } else if (isSourceReference(parsed.image)) {
      const cstorOnly = [...optionValues(args, rawArgs, 'storageRoot'), ...optionValues(args, rawArgs, 'additionalImageStore')];
      if (cstorOnly.length > 0 || parsed.localFetch !== 'auto') {
        throw new UsageError('--storage-root, --additional-image-store and --local-fetch are for containers-storage: sources');
      }
      result = await runDirectPull({
        reference: parsed.image,
        options: { ...sourceOptions(parsed), ...(parsed.name ? { tag: parsed.name } : {}), bootable: parsed.bootable === true },
        progress: parsed.progress as ProgressMode,
        progressFd: parsed.progressFd,
      });
    } else {
      if (!parsed.image.startsWith(CSTOR_PREFIX)) {
        throw new UsageError(`unknown source "${parsed.image}" (containers-storage:, oci:, oci-archive:, docker-archive: or docker://)`);
      }
      const misplaced = [...givenSourceOptions(parsed, rawArgs), ...(parsed.progressFd !== undefined ? ['--progress-fd'] : [])];
      if (misplaced.length > 0) throw new UsageError(`${misplaced.join(', ')}: not for containers-storage: sources`);
      const progress = progressSink(parsed.progress as ProgressMode);
      result = await withRepository({ write: true }, (repo) =>
        pullFromContainersStorage(repo, parsed.image, {
          ...(parsed.name ? { tag: parsed.name } : {}),
          zerocopy: parsed.localFetch === 'zerocopy',
          bootable: parsed.bootable === true,
          storage: storageOptions(args, rawArgs),
          ...(progress.sink ? { progress: progress.sink } : {}),
        }),
      ).finally(() => progress.done());
    }
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
        ...(result.bootImage !== undefined ? { bootImage: result.bootImage } : {}),
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
      process.stdout.write(
        `manifest ${result.manifestDigest}\nconfig   ${result.configDigest}\nverity   ${result.manifestStream}\n` +
          `tagged   ${result.tag}\nobjects  ${result.stats.summary()}\n` +
          (result.bootImage !== undefined ? `Boot image: ${result.bootImage}\n` : '') +
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
