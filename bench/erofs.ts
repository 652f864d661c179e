/**
 * compute-id of a generated 50 000-entry tree: cfskit (library, and the
 * CLI as a process) against `mkfs.erofs` (erofs-utils) building an image of
 * the same tree and against `cfsctl compute-id` when a cfsctl binary is
 * found ($CFSCTL, else composefs-rs's release build under /work/ref).
 *   node dist/bench/erofs.js [ENTRIES]
 * Each tool runs once to warm the page cache, then 3 times; the median counts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { closeDigestWorkers } from '../src/fsverity/digest.js';
import { computeImageId } from '../src/image/compute.js';
import { seededRandom } from '../test/support/random.js';

const ENTRIES = Number(process.argv[2] ?? 50000);
const CFSKIT = fileURLToPath(new URL('../../bin/cfskit', import.meta.url));

/** Directories of ~20 entries; files mostly small, as in an OS tree. */
async function generate(root: string): Promise<{ files: number; bytes: number }> {
  const rand = seededRandom(42);
  let made = 1;
  let files = 0;
  let bytes = 0;
  const dirs = [root];
  for (let d = 0; made < ENTRIES; d++) {
    const dir = dirs[d] as string;
    for (let i = 0; i < 20 && made < ENTRIES; i++, made++) {
      const r = rand();
      const path = join(dir, `entry-${i}-${Math.floor(rand() * 1e6).toString(36)}`);
      if (r < 0.08) {
        await mkdir(path);
        dirs.push(path);
      } else if (r < 0.13) {
        await symlink(`../target-${i}`, path);
      } else {
        const size = r < 0.45 ? Math.floor(rand() * 64) : r < 0.95 ? 65 + Math.floor(rand() * 8000) : 8192 + Math.floor(rand() * 120000);
        const data = Buffer.alloc(size);
        for (let k = 0; k < size; k++) data[k] = (made * 31 + k * 7 + (k >> 8)) & 0xff;
        await writeFile(path, data);
        files++;
        bytes += size;
      }
    }
  }
  return { files, bytes };
}

function timeProcess(cmd: string, args: string[]): number {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.error || r.status !== 0) throw new Error(`${cmd} failed: ${r.error?.message ?? r.stderr.toString()}`);
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function timeAsync(body: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await body();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function median(runs: number, once: () => Promise<number> | number): Promise<number> {
  await once();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) times.push(await once());
  times.sort((a, b) => a - b);
  return times[Math.floor(runs / 2)] as number;
}

function findCfsctl(): string | undefined {
  for (const c of [process.env.CFSCTL, '/work/ref/composefs-rs/target/release/cfsctl', '/work/ref/target/release/cfsctl']) if (c && existsSync(c)) return c;
  return undefined;
}

const work = await mkdtemp(join(tmpdir(), 'cfskit-bench-erofs-'));
try {
  const tree = join(work, 'tree');
  await mkdir(tree);
  const { files, bytes } = await generate(tree);
  console.log(`tree: ${ENTRIES} entries, ${files} regular files, ${(bytes / 2 ** 20).toFixed(1)} MiB`);
  const results: [string, number][] = [];
  let id = '';
  results.push([
    'cfskit computeImageId (library, V1)',
    await median(3, () => timeAsync(async () => (id = (await computeImageId(tree, { propagateUsrToRoot: false })).hex))),
  ]);
  results.push([
    'cfskit computeImageId (library, V2)',
    await median(3, () => timeAsync(async () => void (await computeImageId(tree, { propagateUsrToRoot: false, erofsVersion: 2 })))),
  ]);
  results.push(['cfskit compute-id (CLI process)', await median(3, () => timeProcess(process.execPath, [CFSKIT, 'compute-id', '--no-propagate-usr-to-root', tree]))]);
  const img = join(work, 'mkfs.img');
  results.push(['mkfs.erofs (erofs-utils)', await median(3, () => timeProcess('mkfs.erofs', ['--quiet', img, tree]))]);
  const cfsctl = findCfsctl();
  if (cfsctl) {
    results.push(['cfsctl compute-id (composefs-rs)', await median(3, () => timeProcess(cfsctl, ['--no-repo', 'compute-id', '--no-propagate-usr-to-root', tree]))]);
    const theirs = spawnSync(cfsctl, ['--no-repo', 'compute-id', '--no-propagate-usr-to-root', tree]).stdout.toString().trim();
    console.log(`image ID ${id === theirs ? 'matches' : 'DIFFERS FROM'} cfsctl's: ${id.slice(0, 32)}…`);
  } else {
    console.log('cfsctl not found (set CFSCTL=/path/to/cfsctl to compare)');
  }
  const ours = results[0]?.[1] ?? 1;
  for (const [name, t] of results) {
    console.log(`${name.padEnd(40)} ${t.toFixed(3).padStart(8)} s   ${(t / ours).toFixed(2)}× cfskit library`);
  }
} finally {
  await closeDigestWorkers();
  await rm(work, { recursive: true, force: true });
}
