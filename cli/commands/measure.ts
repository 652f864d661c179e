import { formatDigest, measureVerity } from '../../src/fsverity/index.js';
import { command, restArgs } from '../command.js';
import { EXIT_FAILURE, errorJson, printJson, reportError } from '../output.js';

export default command(
  {
    meta: { name: 'measure', description: "Print the kernel's fs-verity measurement of files (fs-verity must be enabled)" },
    args: {
      files: { type: 'positional', valueHint: 'FILE...', description: 'files to measure' },
      json: { type: 'boolean', description: 'print JSON' },
    },
    async run({ args }) {
      const results: object[] = [];
      let failed = false;
      for (const path of restArgs(args)) {
        try {
          const m = await measureVerity(path);
          if (args.json) results.push({ path, digest: formatDigest(m), hashAlg: m.hashAlg });
          else process.stdout.write(`${formatDigest(m)} ${path}\n`);
        } catch (err) {
          failed = true;
          if (args.json) results.push({ path, error: errorJson(err) });
          else reportError('measure', err);
        }
      }
      if (args.json) printJson(results);
      return failed ? EXIT_FAILURE : 0;
    },
  },
  { variadic: true },
);
