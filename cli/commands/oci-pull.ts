import { NotFoundError, UsageError } from '../../common/index.js';
import { CSTOR_PREFIX, findMatchingBootImage, pullFromContainersStorage } from '../../src/oci/index.js';
import { isObjectId, type ObjectId } from '../../src/repository/index.js';
import { command } from '../command.js';
import { progressSink, type ProgressMode } from '../import-progress.js';
import { printJson } from '../output.js';
import { withRepository } from '../repo.js';
import { storageArgs, storageOptions } from '../storage-args.js';
import { XATTRS, xattrMode } from '../tree-args.js';

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
  expectedDigest: {
    type: 'string',
    valueHint: 'HEX',
    description: 'with --bootable: find the xattr mode and EROFS format whose boot image has this ID (e.g. one a UKI names) and keep that boot image',
  },
  xattrs: { ...XATTRS, description: 'xattr mode of the images made (another than allowlist-only makes the default plain image as well)' },
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
    const expected = parsed.expectedDigest;
    if (expected !== undefined && parsed.bootable !== true) throw new UsageError('--expected-digest needs --bootable');
    const started = process.hrtime.bigint();
    const progress = progressSink(parsed.progress as ProgressMode);
    const outcome = await withRepository(parsed, { write: true }, async (repo) => {
      // As cfsctl: a malformed digest fails before anything is pulled.
      if (expected !== undefined && !isObjectId(expected, repo.hashAlg)) {
        throw new UsageError(`--expected-digest "${expected}" is not a ${repo.hashAlg} digest (hex)`);
      }
      const result = await pullFromContainersStorage(repo, parsed.image, {
        ...(parsed.name ? { tag: parsed.name } : {}),
        zerocopy: parsed.localFetch === 'zerocopy',
        // The search makes the boot image it finds; nothing else is guessed.
        bootable: parsed.bootable === true && expected === undefined,
        xattrs: xattrMode(parsed.xattrs),
        storage: storageOptions(parsed),
        ...(progress.sink ? { progress: progress.sink } : {}),
      }).finally(() => progress.done());
      const match = expected === undefined ? undefined : await findMatchingBootImage(repo, result.manifestDigest, expected as ObjectId);
      return { result, match };
    });
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
          `tagged   ${result.tag}\nobjects  ${result.stats.summary()}\n${boot}`,
      );
    }
    return 0;
  },
});
