/**
 * create-image of a generated tree (default 5 000 entries, as an OS tree:
 * mostly small files, some large) into a fresh insecure repository on the
 * same file system: the cfskit CLI against `cfsctl create-image`
 * (composefs-rs's release build under /work/ref, or $CFSCTL), then the same
 * again with every object already present.
 *   node dist/bench/create-image.js [ENTRIES]
 * Each tool runs once to warm the page cache, then 3 times; the fastest counts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable, type Timing } from './support.js';
import { seededRandom } from '../test/support/random.js';

const ENTRIES = Number(process.argv[2] ?? 5000);
const CFSKIT = fileURLToPath(new URL('../../bin/cfskit', import.meta.url));
const RUNS = 3;

/** Directories of ~20 entries; sizes like an OS tree. */
async function generate(root: string): Promise<{ files: number; bytes: number }> {
  const rand = seededRandom(7);
  const dirs = [root];
  let files = 0;
  let bytes = 0;
  for (let made = 1, d = 0; made < ENTRIES; d++) {
    if (d >= dirs.length) {
      // Every directory so far is full: start another at the root.
      dirs.push(join(root, `d${d}`));
      await mkdir(dirs[d] as string);
      made++;
    }
    const dir = dirs[d] as string;
    for (let i = 0; i < 20 && made < ENTRIES; i++, made++) {
      const r = rand();
      const path = join(dir, `e${i}-${Math.floor(rand() * 1e6).toString(36)}`);
      if (r < 0.08) {
        await mkdir(path);
        dirs.push(path);
      } else if (r < 0.12) {
        await symlink(`../t${i}`, path);
      } else {
        const size = r < 0.4 ? Math.floor(rand() * 64) : r < 0.95 ? 65 + Math.floor(rand() * 16000) : 16384 + Math.floor(rand() * 2_000_000);
        const data = Buffer.alloc(size);
        // Distinct content per file (so objects do not dedupe), cheaply.
        for (let k = 0; k + 4 <= size; k += 4096) data.writeUInt32LE((made * 2654435761 + k) >>> 0, k);
        if (size > 0 && size < 4) data[0] = made & 0xff;
        await writeFile(path, data);
        files++;
        bytes += size;
      }
    }
  }
  return { files, bytes };
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** Fastest of RUNS (after a warm-up) of `create` into a repository `init` makes fresh each time unless `reuse`. */
function time(label: string, init: (repo: string) => void, create: (repo: string) => string, repo: string, reuse: boolean): { timing: Timing; id: string } {
  let best = Number.POSITIVE_INFINITY;
  let id = '';
  if (reuse) init(repo);
  for (let i = 0; i <= RUNS; i++) {
    if (!reuse) {
      spawnSync('rm', ['-rf', repo]);
      init(repo);
    }
    const started = process.hrtime.bigint();
    id = create(repo).trim().replace(/^sha\d+:/, '');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (i > 0) best = Math.min(best, seconds);
  }
  spawnSync('rm', ['-rf', repo]);
  return { timing: { label, seconds: best, maxRssMiB: undefined }, id };
}

const cfsctl = [process.env.CFSCTL, '/work/ref/composefs-rs/target/release/cfsctl', '/work/ref/target/release/cfsctl'].find((c): c is string => c !== undefined && existsSync(c));
const work = await mkdtemp(join(tmpdir(), 'cfskit-bench-create-image-'));
try {
  const tree = join(work, 'tree');
  await mkdir(tree);
  const { files, bytes } = await generate(tree);
  console.log(`tree: ${ENTRIES} entries, ${files} regular files, ${(bytes / 2 ** 20).toFixed(1)} MiB; repositories in ${work}`);
  const repo = join(work, 'repo');
  const cfskitInit = (r: string): void => void run(process.execPath, [CFSKIT, '--repo', r, 'init', '--insecure']);
  const cfskitCreate = (r: string): string => run(process.execPath, [CFSKIT, '--repo', r, 'create-image', '--no-propagate-usr-to-root', tree]);
  const rows: Timing[] = [];
  const fresh = time('cfskit create-image (new objects)', cfskitInit, cfskitCreate, repo, false);
  rows.push(fresh.timing);
  rows.push(time('cfskit create-image (all present)', cfskitInit, cfskitCreate, repo, true).timing);
  if (cfsctl) {
    const init = (r: string): void => void run(cfsctl, ['--repo', r, '--insecure', 'init', '--insecure']);
    const create = (r: string): string => run(cfsctl, ['--repo', r, '--insecure', 'create-image', '--no-propagate-usr-to-root', tree]);
    const theirs = time('cfsctl create-image (new objects)', init, create, repo, false);
    rows.push(theirs.timing);
    rows.push(time('cfsctl create-image (all present)', init, create, repo, true).timing);
    console.log(`image ID ${fresh.id === theirs.id ? 'matches' : 'DIFFERS FROM'} cfsctl's: ${fresh.id.slice(0, 32)}…`);
  } else {
    console.log('cfsctl not found (set CFSCTL=/path/to/cfsctl to compare)');
  }
  printTable(rows, fresh.timing);
} finally {
  await rm(work, { recursive: true, force: true });
}
