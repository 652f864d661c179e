/**
 * bench/vs-cfsctl: the whole table of issue 12 in one run, cfskit against
 * cfsctl 0.9.0 ($CFSCTL) on the same data, on a btrfs loop device:
 *
 *   - zero-copy import of a 3-layer, 30 000-file, ≈1 GiB image from a
 *     temporary containers-storage (podman-built), into V1 insecure repositories;
 *   - fsck and fsck --metadata-only of each tool's own repository;
 *   - compute-id, create-dumpfile and create-image of the 30 000-file tree on disk;
 *   - the fs-verity sha512 digest of a 1 GiB file against `fsverity digest`;
 *   - then a 3× larger image (import, fsck, compute-id once each) to check
 *     that cfskit's peak memory is flat in image size.
 *
 * The tools run in turn (A B B A …), one warm-up round, then RUNS counted
 * rounds; medians, the median of the pair-by-pair ratios, peak RSS (GNU
 * time), and a met/not-met line per target. Outputs are compared (image
 * IDs, dumpfiles, digests, layer streams), so a fast wrong answer shows.
 * Needs root, podman, btrfs-progs, fsverity, GNU time.
 *
 *   CFSCTL=/path/to/cfsctl node dist/bench/vs-cfsctl.js [--scale 0.1] [--runs 3] [--no-large] [--only import,fsck]
 *
 * `--only` measures just the rows whose names contain one of the given
 * words (the default runs them all); the import still runs once
 * (unmeasured) when a later row needs its repositories, and the 1 GiB file
 * is written only when its row runs.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { withLoopFs } from '../test/support/loopfs.js';
import { createPodmanStore, type PodmanStore } from '../test/support/podman.js';
import { haveGnuTime, measure, median, type Command, type Measured } from './measure.js';
import { writeOsLayer } from './os-layers.js';
import { printReport, rowSummary, type Row, type Target } from './vs-cfsctl-report.js';

const { values: opts } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
    'no-large': { type: 'boolean', default: false },
    only: { type: 'string' },
  },
});
const ONLY = opts.only?.split(',').map((w) => w.trim()).filter((w) => w !== '');
/** Whether the row named `name` is measured (see `--only`). */
const selected = (op: { readonly name: string }): boolean => ONLY === undefined || ONLY.some((w) => op.name.includes(w));
const SCALE = Number(opts.scale);
const RUNS = Number(opts.runs);
if (!(SCALE > 0 && SCALE <= 4) || !Number.isInteger(RUNS) || RUNS < 1) throw new Error('--scale must be in (0, 4] and --runs a whole number ≥ 1');
const PER_LAYER = Math.max(100, Math.round(10000 * SCALE));
const DIGEST_BYTES = Math.max(16 << 20, Math.round(SCALE * 2 ** 30));

const CFSKIT = fileURLToPath(new URL('../../bin/cfskit', import.meta.url));
const CFSCTL = [process.env.CFSCTL, '/work/ref/composefs-rs/target/release/cfsctl'].find((c): c is string => c !== undefined && existsSync(c));
if (CFSCTL === undefined) throw new Error('set CFSCTL to a cfsctl 0.9.0 binary');
if (!haveGnuTime()) throw new Error('GNU time (/usr/bin/time) is needed for peak memory: apt-get install time');
if (process.getuid?.() !== 0) throw new Error('needs root (loop devices, podman overlay stores)');

type Tool = 'cfsctl' | 'cfskit';
const TOOLS: readonly Tool[] = ['cfsctl', 'cfskit'];
const IMAGE = 'localhost/bench:1';
const LARGE_IMAGE = 'localhost/bench-large:1';

function cfsctl(repo: string | undefined, args: readonly string[], env?: NodeJS.ProcessEnv): Command {
  return { cmd: CFSCTL as string, args: [...(repo === undefined ? ['--no-repo'] : ['--repo', repo, '--insecure']), ...args], ...(env ? { env } : {}) };
}
function cfskit(repo: string | undefined, args: readonly string[]): Command {
  return { cmd: process.execPath, args: [CFSKIT, ...(repo === undefined ? [] : ['--repo', repo]), ...args] };
}

function quiet(c: Command): string {
  const r = spawnSync(c.cmd, c.args, { env: c.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${c.cmd} ${c.args.join(' ')} exited with ${r.status}: ${r.stderr.toString().slice(-3000)}`);
  return r.stdout.toString();
}

async function freshRepo(tool: Tool, path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
  quiet(tool === 'cfsctl' ? cfsctl(path, ['--erofs-version', '1', 'init', '--insecure']) : cfskit(path, ['--erofs-version', '1', 'init', '--insecure']));
}

interface Op {
  readonly name: string;
  readonly target: Target;
  command(tool: Tool): Command;
  /** Untimed, before each run (a fresh repository). */
  prepare?(tool: Tool): Promise<void>;
  /** What must be equal between the tools' outputs (undefined: nothing to compare). */
  answer?(tool: Tool, m: Measured): Promise<string> | string;
}

/** Warm-up round, then RUNS rounds, alternating which tool goes first. */
async function runOp(op: Op, rounds = RUNS, warmup = true): Promise<Row> {
  const runs: Record<Tool, Measured[]> = { cfsctl: [], cfskit: [] };
  const answers: Partial<Record<Tool, string>> = {};
  for (let round = warmup ? -1 : 0; round < rounds; round++) {
    for (const tool of round % 2 === 0 ? TOOLS : [...TOOLS].reverse()) {
      await op.prepare?.(tool);
      execFileSync('sync');
      const m = measure(`${op.name} (${tool})`, op.command(tool));
      if (round >= 0) runs[tool].push(m);
      if (op.answer) answers[tool] = await op.answer(tool, m);
    }
    process.stderr.write('.');
  }
  const pairs = runs.cfskit.map((k, i) => k.wall / (runs.cfsctl[i] as Measured).wall);
  const same = op.answer === undefined ? undefined : answers.cfsctl === answers.cfskit;
  const row = { name: op.name, target: op.target, runs, pairRatio: median(pairs), same };
  // As soon as it is known, so a run cut short still leaves its figures.
  process.stderr.write(` ${rowSummary(row)}\n`);
  return row;
}

/** Runs an unselected op once per tool, unmeasured, for what later rows need (the import's repositories). */
async function prepareOnly(op: Op): Promise<void> {
  for (const tool of TOOLS) {
    await op.prepare?.(tool);
    quiet(op.command(tool));
  }
}

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

async function streamTargets(repo: string, prefix: string): Promise<string> {
  const names = (await readdir(join(repo, 'streams'))).filter((n) => n.startsWith(prefix)).sort();
  return (await Promise.all(names.map(async (n) => `${n} ${await readlink(join(repo, 'streams', n))}`))).join('\n');
}

/** A 3-layer image (`perLayer` files each) built by podman, and the same files as one tree on disk. */
async function buildImage(store: PodmanStore, work: string, name: string, perLayer: number, tree: string): Promise<{ files: number; bytes: number }> {
  const ctx = join(work, 'ctx');
  let bytes = 0;
  for (const layer of [1, 2, 3]) bytes += await writeOsLayer(join(ctx, `layer${layer}`), layer, perLayer);
  const tar = join(work, 'base.tar');
  execFileSync('tar', ['-C', join(ctx, 'layer1'), '-cf', tar, '.']);
  await store.importTar(tar, `${name}-base`);
  await rm(tar);
  await writeFile(join(ctx, 'Containerfile'), `FROM ${name}-base\nCOPY layer2/ /\nCOPY layer3/ /\n`);
  await store.build(ctx, name);
  await mkdir(tree);
  for (const layer of [1, 2, 3]) execFileSync('cp', ['-a', '--reflink=always', `${join(ctx, `layer${layer}`)}/.`, tree]);
  await rm(ctx, { recursive: true, force: true });
  return { files: perLayer * 3, bytes };
}

async function writeBigFile(path: string, size: number): Promise<void> {
  const f = await open(path, 'w');
  try {
    const chunk = Buffer.alloc(1 << 20);
    for (let off = 0; off < size; off += chunk.length) {
      // Distinct blocks: every 4 KiB gets its own counter.
      for (let k = 0; k < chunk.length; k += 4096) chunk.writeUInt32LE(((off + k) / 4096) >>> 0, k);
      await f.write(chunk, 0, Math.min(chunk.length, size - off));
    }
  } finally {
    await f.close();
  }
}

function importOps(root: string, image: string, repos: Record<Tool, string>, tree: string, suffix: string): Op[] {
  const env = { ...process.env, CONTAINERS_STORAGE_ROOT: root, RUST_BACKTRACE: '0' };
  return [
    {
      name: `import from containers-storage${suffix}`,
      target: { maxRatio: 0.8 },
      prepare: (tool) => freshRepo(tool, repos[tool]),
      command: (tool) =>
        tool === 'cfsctl'
          ? cfsctl(repos.cfsctl, ['oci', 'pull', '--local-fetch', 'auto', `containers-storage:${image}`, 'bench'], env)
          : cfskit(repos.cfskit, ['oci', 'pull', '--progress', 'none', '--storage-root', root, `containers-storage:${image}`, 'bench']),
      answer: (tool) => streamTargets(repos[tool], 'oci-layer-'),
    },
    {
      name: `fsck${suffix}`,
      target: { maxRatio: 1.0 },
      command: (tool) => (tool === 'cfsctl' ? cfsctl(repos.cfsctl, ['fsck']) : cfskit(repos.cfskit, ['fsck'])),
    },
    {
      name: `fsck --metadata-only${suffix}`,
      target: { maxRatio: 1.0 },
      command: (tool) => (tool === 'cfsctl' ? cfsctl(repos.cfsctl, ['fsck', '--metadata-only']) : cfskit(repos.cfskit, ['fsck', '--metadata-only'])),
    },
    {
      name: `compute-id of the tree${suffix}`,
      target: { maxRatio: 0.8 },
      command: (tool) => (tool === 'cfsctl' ? cfsctl(undefined, ['compute-id', tree]) : cfskit(undefined, ['compute-id', tree])),
      answer: (_tool, m) => m.stdout.toString().trim(),
    },
  ];
}

function treeOps(tree: string, work: string, bigFile: string): Op[] {
  const imageRepos: Record<Tool, string> = { cfsctl: join(work, 'ci-cfsctl'), cfskit: join(work, 'ci-cfskit') };
  return [
    {
      name: 'create-dumpfile of the tree',
      target: { maxRatio: 0.8 },
      command: (tool) => (tool === 'cfsctl' ? cfsctl(undefined, ['create-dumpfile', tree]) : cfskit(undefined, ['create-dumpfile', tree])),
      answer: (_tool, m) => sha(m.stdout),
    },
    {
      name: 'create-image of the tree',
      target: { maxRatio: 0.8 },
      prepare: (tool) => freshRepo(tool, imageRepos[tool]),
      command: (tool) => (tool === 'cfsctl' ? cfsctl(imageRepos.cfsctl, ['create-image', tree]) : cfskit(imageRepos.cfskit, ['create-image', tree])),
      answer: (_tool, m) => m.stdout.toString().trim().replace(/^sha\d+:/, ''),
    },
    {
      name: `fs-verity sha512 digest, ${(DIGEST_BYTES / 2 ** 30).toFixed(2)} GiB (vs fsverity digest)`,
      target: { maxRatio: 0.6 },
      command: (tool) =>
        tool === 'cfsctl'
          ? { cmd: 'fsverity', args: ['digest', '--hash-alg=sha512', bigFile] }
          : { cmd: process.execPath, args: [CFSKIT, 'digest', bigFile] },
      answer: (_tool, m) => (/[0-9a-f]{128}/.exec(m.stdout.toString())?.[0] ?? 'no digest'),
    },
  ];
}

async function bench(mnt: string, store: PodmanStore): Promise<void> {
  const tree = join(mnt, 'tree');
  const repos: Record<Tool, string> = { cfsctl: join(mnt, 'repo-cfsctl'), cfskit: join(mnt, 'repo-cfskit') };
  const { files, bytes } = await buildImage(store, mnt, IMAGE, PER_LAYER, tree);
  const bigFile = join(mnt, 'big.bin');
  const ops = [...importOps(store.root, IMAGE, repos, tree, ''), ...treeOps(tree, mnt, bigFile)];
  if (ops.some((op) => selected(op) && op.name.startsWith('fs-verity'))) await writeBigFile(bigFile, DIGEST_BYTES);
  console.log(
    `cfsctl ${quiet({ cmd: CFSCTL as string, args: ['--version'] }).trim()}; image: ${files} files, ${(bytes / 2 ** 30).toFixed(2)} GiB, 3 layers; ` +
      `btrfs loop device; ${cpus().length} cores; medians of ${RUNS} interleaved runs after a warm-up\n`,
  );
  const rows: Row[] = [];
  for (const op of ops) {
    if (selected(op)) rows.push(await runOp(op));
    else if (op.name.startsWith('import')) await prepareOnly(op);
  }
  let large: Row[] = [];
  if (!opts['no-large']) {
    // Make room: the large image needs three times the space.
    for (const p of [tree, bigFile, ...Object.values(repos), join(mnt, 'ci-cfsctl'), join(mnt, 'ci-cfskit')]) await rm(p, { recursive: true, force: true });
    await store.podman(['rmi', '--all', '--force']);
    const largeTree = join(mnt, 'tree-large');
    const big = await buildImage(store, mnt, LARGE_IMAGE, PER_LAYER * 3, largeTree);
    console.log(`large image: ${big.files} files, ${(big.bytes / 2 ** 30).toFixed(2)} GiB (one run of each tool, for memory)`);
    for (const op of importOps(store.root, LARGE_IMAGE, repos, largeTree, ' (3×)')) {
      if (selected(op)) large.push(await runOp(op, 1, false));
      else if (op.name.startsWith('import')) await prepareOnly(op);
    }
  } else {
    large = [];
  }
  printReport(rows, large);
}

const storeRoot = (mnt: string): string => join(mnt, 'storage');
await withLoopFs('btrfs', { sizeMiB: Math.max(2048, Math.ceil(14 * 1024 * SCALE)) }, async (mnt) => {
  const store = await createPodmanStore({ root: storeRoot(mnt) });
  // A signal ends the process in loopfs's handler; reset the store first so
  // no overlay mount keeps the loop device busy.
  const onSignal = (signal: NodeJS.Signals): void => {
    spawnSync('podman', ['--root', store.root, '--runroot', store.runroot, '--storage-driver', 'overlay', 'system', 'reset', '--force'], { stdio: 'ignore' });
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal);
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.prependListener(s, onSignal);
  try {
    await bench(mnt, store);
  } finally {
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal);
    await store.destroy();
  }
});
