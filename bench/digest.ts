/**
 * bench/digest: fs-verity digest of a 1 GiB file (page-cached), in one run:
 * cfskit on one thread and on all threads, fsverity-utils, and sha512sum as
 * a plain-hash floor. Prints best-of-3 times and ratios to `fsverity digest`.
 *   node dist/bench/digest.js [SIZE_MIB]
 */
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, openSync, rmSync, writeSync, closeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable, timeCommand } from './support.js';

const sizeMiB = Number(process.argv[2] ?? 1024);
const cfskit = fileURLToPath(new URL('../../bin/cfskit', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'cfskit-bench-digest-'));
try {
  const file = join(dir, 'data');
  const fd = openSync(file, 'w');
  const chunk = Buffer.allocUnsafe(16 << 20);
  for (let written = 0; written < sizeMiB << 20; written += chunk.length) {
    randomFillSync(chunk);
    writeSync(fd, chunk, 0, Math.min(chunk.length, (sizeMiB << 20) - written));
  }
  closeSync(fd);
  console.log(`fs-verity sha512 digest of a ${sizeMiB} MiB file, ${availableParallelism()} cores, best of 3\n`);
  const reference = timeCommand('fsverity digest', 'fsverity', ['digest', '--hash-alg=sha512', file]);
  const rows = [
    timeCommand('cfskit digest --threads 1', process.execPath, [cfskit, 'digest', '--threads', '1', file]),
    timeCommand(`cfskit digest (${availableParallelism()} threads)`, process.execPath, [cfskit, 'digest', file]),
    reference,
    timeCommand('sha512sum', 'sha512sum', [file]),
  ];
  printTable(rows, reference);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
