import { importTarLayer } from '../../src/oci/index.js';
import { command } from '../command.js';
import { printJson } from '../output.js';
import { withRepository } from '../repo.js';

export default command({
  meta: { name: 'import-layer', description: 'Split a layer tar read from stdin into the repository (its sha256 must be DIFF_ID)' },
  args: {
    diffId: { type: 'positional', required: true, valueHint: 'DIFF_ID', description: 'sha256:… of the uncompressed tar' },
    name: { type: 'positional', required: false, valueHint: 'NAME', description: 'also name the layer stream refs/NAME' },
    json: { type: 'boolean', description: 'print the result and statistics as JSON' },
  },
  async run({ args }) {
    const { result, hashAlg } = await withRepository(args, { write: true }, async (repo) => {
      const r = await importTarLayer(repo, args.diffId, process.stdin, 'stdin');
      // Already present: the tar was not needed, but a writer piping it in
      // should not die of SIGPIPE for that.
      if (r.alreadyPresent) for await (const chunk of process.stdin) void chunk;
      if (args.name) await repo.streams.setRef(args.name, r.contentId);
      return { result: r, hashAlg: repo.hashAlg };
    });
    if (args.json) printJson({ stream: result.contentId, verity: result.streamId, alreadyPresent: result.alreadyPresent, stats: result.stats.toJSON() });
    else process.stdout.write(`${hashAlg}:${result.streamId}\n`);
    return 0;
  },
});
