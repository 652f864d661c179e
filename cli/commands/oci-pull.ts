import { UsageError } from '../../common/index.js';
import { CSTOR_PREFIX, pullFromContainersStorage } from '../../src/oci/index.js';
import { command } from '../command.js';
import { progressSink, type ProgressMode } from '../import-progress.js';
import { printJson } from '../output.js';
import { withRepository } from '../repo.js';
import { storageArgs, storageOptions } from '../storage-args.js';

const args = {
  image: { type: 'positional', required: true, valueHint: 'containers-storage:REF', description: 'image to import (name, ID, ID prefix or @digest)' },
  name: { type: 'positional', required: false, valueHint: 'NAME', description: 'tag to give it (default: the reference as given)' },
  localFetch: {
    type: 'enum',
    options: ['auto', 'zerocopy'] as string[],
    default: 'auto',
    description: 'auto: reflink, else hardlink, else copy; zerocopy: fail rather than copy',
  },
  ...storageArgs,
  bootable: { type: 'boolean', description: 'also make the bootable composefs image (empty /boot and /sysroot, SELinux labels)' },
  json: { type: 'boolean', description: 'print the result and statistics as JSON' },
  progress: { type: 'enum', options: ['auto', 'bar', 'json', 'none'] as string[], default: 'auto', description: 'progress display (json: one object per line on stderr)' },
} as const;

export default command({
  meta: { name: 'pull', description: 'Import an image from containers-storage without copying its data' },
  args,
  async run({ args: parsed }) {
    if (!parsed.image.startsWith(CSTOR_PREFIX)) {
      throw new UsageError(`only ${CSTOR_PREFIX}REF sources are supported (got "${parsed.image}")`);
    }
    const started = process.hrtime.bigint();
    const progress = progressSink(parsed.progress as ProgressMode);
    const result = await withRepository(parsed, { write: true }, (repo) =>
      pullFromContainersStorage(repo, parsed.image, {
        ...(parsed.name ? { tag: parsed.name } : {}),
        zerocopy: parsed.localFetch === 'zerocopy',
        bootable: parsed.bootable === true,
        storage: storageOptions(parsed),
        ...(progress.sink ? { progress: progress.sink } : {}),
      }),
    ).finally(() => progress.done());
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
