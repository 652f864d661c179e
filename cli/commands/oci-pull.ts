import { UsageError } from '../../common/index.js';
import { CSTOR_PREFIX, pullFromContainersStorage, type PullResult } from '../../src/oci/index.js';
import { isSourceReference } from '../../src/source/index.js';
import { command } from '../command.js';
import { runDirectPull } from '../direct-pull.js';
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
    description: 'containers-storage:REF (name, ID, ID prefix or @digest), oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE[:REF] or docker://REF',
  },
  name: { type: 'positional', required: false, valueHint: 'NAME', description: 'tag to give it (default: the reference as given)' },
  localFetch: {
    type: 'enum',
    options: ['auto', 'zerocopy'] as string[],
    default: 'auto',
    description: 'auto: reflink, else hardlink, else copy; zerocopy: fail rather than copy',
  },
  ...storageArgs,
  ...sourceArgs,
  bootable: { type: 'boolean', description: 'also make the bootable composefs image (empty /boot and /sysroot, SELinux labels)' },
  json: { type: 'boolean', description: 'print the result and statistics as JSON' },
  progress: { type: 'enum', options: ['auto', 'bar', 'json', 'none'] as string[], default: 'auto', description: 'progress display (json: one object per line on stderr)' },
  progressFd: { type: 'string', valueHint: 'N', description: "bootc's progress protocol (JSON Lines) on file descriptor N (not for containers-storage:)" },
} as const;

export default command({
  meta: { name: 'pull', description: 'Import an image from containers-storage without copying its data, or from an OCI layout, an archive or a registry' },
  args,
  async run({ args: parsed }) {
    const started = process.hrtime.bigint();
    let result: PullResult;
    if (isSourceReference(parsed.image)) {
      if (parsed.storageRoot !== undefined || parsed.additionalImageStore.length > 0 || parsed.localFetch !== 'auto') {
        throw new UsageError('--storage-root, --additional-image-store and --local-fetch are for containers-storage: sources');
      }
      result = await runDirectPull(parsed, {
        reference: parsed.image,
        options: { ...sourceOptions(parsed), ...(parsed.name ? { tag: parsed.name } : {}), bootable: parsed.bootable === true },
        progress: parsed.progress as ProgressMode,
        progressFd: parsed.progressFd,
      });
    } else {
      if (!parsed.image.startsWith(CSTOR_PREFIX)) {
        throw new UsageError(`unknown source "${parsed.image}" (containers-storage:, oci:, oci-archive:, docker-archive: or docker://)`);
      }
      const misplaced = [...givenSourceOptions(parsed), ...(parsed.progressFd !== undefined ? ['--progress-fd'] : [])];
      if (misplaced.length > 0) throw new UsageError(`${misplaced.join(', ')}: not for containers-storage: sources`);
      const progress = progressSink(parsed.progress as ProgressMode);
      result = await withRepository(parsed, { write: true }, (repo) =>
        pullFromContainersStorage(repo, parsed.image, {
          ...(parsed.name ? { tag: parsed.name } : {}),
          zerocopy: parsed.localFetch === 'zerocopy',
          bootable: parsed.bootable === true,
          storage: storageOptions(parsed),
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
        elapsedSeconds: Number(seconds.toFixed(3)),
      });
    } else {
      process.stdout.write(
        `manifest ${result.manifestDigest}\nconfig   ${result.configDigest}\nverity   ${result.manifestStream}\n` +
          `tagged   ${result.tag}\nobjects  ${result.stats.summary()}\n` +
          (result.bootImage !== undefined ? `Boot image: ${result.bootImage}\n` : ''),
      );
    }
    return 0;
  },
});
