import { UsageError } from '../../common/index.js';
import { copyImage } from '../../src/oci/index.js';
import { Repository } from '../../src/repository/index.js';
import { command } from '../command.js';
import { printJson } from '../output.js';
import { withRepository } from '../repo.js';

export default command({
  meta: {
    name: 'copy',
    description:
      'Copy an OCI image and its layers from another repository into this one (--repo), as `cfsctl oci copy` does: objects copied, or with --zerocopy reflinked or hard-linked',
  },
  args: {
    image: { type: 'positional', required: true, valueHint: 'IMAGE', description: 'tag or @manifest-digest in the source repository' },
    from: { type: 'string', valueHint: 'REPO', description: 'the source repository (required)' },
    name: { type: 'string', valueHint: 'TAG', description: 'tag the copy in this repository' },
    zerocopy: { type: 'boolean', description: 'reflink, else hard-link every object, never copy (same file system, same algorithm)' },
    json: { type: 'boolean', description: 'print the result as JSON' },
  },
  async run({ args }) {
    if (args.from === undefined) throw new UsageError('oci copy needs --from REPO (the source repository)');
    const source = await Repository.open(args.from);
    let result;
    try {
      result = await withRepository(args, { write: true }, (dest) =>
        copyImage(dest, source, args.image, { ...(args.name ? { tag: args.name } : {}), zerocopy: args.zerocopy === true }),
      );
    } finally {
      await source.close();
    }
    if (args.json) {
      printJson({ ...result, stats: result.stats.toJSON() });
      return 0;
    }
    process.stdout.write(
      `Copied image ${args.image} from ${args.from} to destination repo${args.name ? `, tagged as ${args.name}` : ''}\n` +
        `Manifest digest: ${result.manifestDigest}\nManifest verity: ${result.manifestStream}\n` +
        `Config digest:   ${result.configDigest}\nConfig verity:   ${result.configStream}\n`,
    );
    return 0;
  },
});
