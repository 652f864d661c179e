import { digestFile, formatDigest, resolveThreads, resolveParams } from '../../src/fsverity/index.js';
import { command, restArgs } from '../command.js';
import { EXIT_FAILURE, errorJson, printJson, reportError } from '../output.js';
import { parseThreads, parseWholeNumber } from '../parse.js';
import { inOrder } from '../../src/workers/index.js';

/** Files digested at once: small files are dominated by I/O latency. */
const CONCURRENT_FILES = 16;

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
      const files = restArgs(args);
      // With many files, medium ones go to the worker threads too: the
      // workers' start-up is paid once and every core hashes.
      const parallelThreshold = files.length > 8 ? 64 << 10 : undefined;
      const digests = inOrder(files, CONCURRENT_FILES, (path) =>
        digestFile(path, { hashAlg: params.hashAlg, blockSize: params.blockSize, threads, ...(parallelThreshold ? { parallelThreshold } : {}) }),
      );
      for await (const { item: path, result } of digests) {
        if (result.ok) {
          const d = result.value;
          if (args.json) {
            results.push({ path, digest: formatDigest(d), hashAlg: d.hashAlg, blockSize: d.blockSize, size: d.size });
          } else {
            process.stdout.write(`${formatDigest(d)} ${path}\n`);
          }
        } else {
          failed = true;
          if (args.json) results.push({ path, error: errorJson(result.error) });
          else reportError('digest', result.error);
        }
      }
      if (args.json) printJson(results);
      return failed ? EXIT_FAILURE : 0;
    },
  },
  { variadic: true },
);
