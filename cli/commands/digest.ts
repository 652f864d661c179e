import { digestFile, formatDigest, resolveThreads } from '../../src/fsverity/digest.js';
import { resolveParams } from '../../src/fsverity/params.js';
import { command, restArgs } from '../command.js';
import { EXIT_FAILURE, errorJson, printJson, reportError } from '../output.js';
import { parseThreads, parseWholeNumber } from '../parse.js';

export default command(
  {
    meta: { name: 'digest', description: 'Print fs-verity digests of files, as `fsverity digest` does' },
    args: {
      files: { type: 'positional', valueHint: 'FILE...', description: 'files to digest' },
      hashAlg: { type: 'enum', options: ['sha256', 'sha512'], default: 'sha512', description: 'hash algorithm' },
      blockSize: { type: 'string', default: '4096', valueHint: 'N', description: 'Merkle tree block size in bytes' },
      threads: { type: 'string', valueHint: 'N', description: 'threads for large files (default: all cores)' },
      json: { type: 'boolean', description: 'print JSON' },
    },
    async run({ args }) {
      const params = resolveParams({ hashAlg: args.hashAlg, blockSize: parseWholeNumber('--block-size', args.blockSize) });
      const threads = resolveThreads(parseThreads(args.threads));
      const results: object[] = [];
      let failed = false;
      for (const path of restArgs(args)) {
        try {
          const d = await digestFile(path, { hashAlg: params.hashAlg, blockSize: params.blockSize, threads });
          if (args.json) {
            results.push({ path, digest: formatDigest(d), hashAlg: d.hashAlg, blockSize: d.blockSize, size: d.size });
          } else {
            process.stdout.write(`${formatDigest(d)} ${path}\n`);
          }
        } catch (err) {
          failed = true;
          if (args.json) results.push({ path, error: errorJson(err) });
          else reportError('digest', err);
        }
      }
      if (args.json) printJson(results);
      return failed ? EXIT_FAILURE : 0;
    },
  },
  { variadic: true },
);
