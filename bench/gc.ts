/**
 * Garbage collection of a large repository: 20 images of 3–5 layers
 * (3 bases of 24 000 small files by default, 5 shared middle layers of
 * 12 000, one of 8 000 of each image's own: ≈300 000 objects), half of them tagged, each with its composefs image. `cfskit gc`
 * runs on one copy and `cfsctl gc` (when $CFSCTL or composefs-rs's release
 * build is found) on an identical one; both must leave the same objects.
 * Copies are made with hard links (cp -al): collection unlinks names only.
 *   node dist/bench/gc.js [FILES_PER_LAYER]
 * Each GC runs once on a fresh copy (a second run would find nothing to do).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureImage } from '../src/oci/index.js';
import { Repository } from '../src/repository/index.js';
import { sha256Digest } from '../src/oci/index.js';
import { importModelImage, type ModelLayer } from '../test/support/gc-model.js';
import { dir, file, tarBytes, type TarMember } from '../test/support/tar-writer.js';
import { seededRandom } from '../test/support/random.js';
import { printTable, type Timing } from './support.js';

const FILES = Number(process.argv[2] ?? 24000);
const CFSKIT = fileURLToPath(new URL('../../bin/cfskit', import.meta.url));
const cfsctl = [process.env.CFSCTL, '/work/ref/composefs-rs/target/release/cfsctl'].find((c): c is string => c !== undefined && existsSync(c));
const gnuTime = spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status === 0;

async function countObjects(repoPath: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const d of await readdir(join(repoPath, 'objects'))) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue;
    for (const name of await readdir(join(repoPath, 'objects', d))) ids.add(`${d}${name}`);
  }
  return ids;
}

/** `count` files of 65–320 bytes (each one object), 100 to a directory. */
function layer(prefix: string, count: number, seed: number, root = false): ModelLayer {
  const members: TarMember[] = root ? [dir('usr'), dir('etc'), dir('boot'), dir('sysroot')] : [];
  members.push(dir(prefix));
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    if (i % 100 === 0) members.push(dir(`${prefix}/d${i / 100}`));
    const data = Buffer.alloc(65 + ((i * 7 + seed) % 256));
    data.write(`${prefix} ${seed} ${i}\n`);
    const path = `${prefix}/d${Math.floor(i / 100)}/f${i}`;
    files.set(`/${path}`, data);
    members.push(file(path, data));
  }
  const tar = tarBytes(members);
  return { tar, diffId: sha256Digest(tar), files };
}

async function build(repoPath: string): Promise<void> {
  const rand = seededRandom(20);
  const repo = await Repository.init(repoPath, { insecure: true });
  try {
    const bases = [0, 1, 2].map((i) => layer(`base${i}`, FILES, 100 + i, true));
    const mids = [0, 1, 2, 3, 4].map((i) => layer(`mid${i}`, Math.floor(FILES / 2), 200 + i));
    for (let i = 0; i < 20; i++) {
      const layers: ModelLayer[] = [bases[i % bases.length] as ModelLayer];
      const extra = 1 + Math.floor(rand() * 3);
      for (let k = 0; k < extra; k++) layers.push(mids[(i + k) % mids.length] as ModelLayer);
      layers.push(layer(`own${i}`, Math.floor(FILES / 3), 300 + i));
      const image = await importModelImage(repo, `image${i}`, layers, i % 2 === 0 ? `bench/image${i}:1` : undefined);
      await ensureImage(repo, `@${image.manifestDigest}`);
      process.stderr.write(`\rbuilt ${i + 1}/20 images`);
    }
    process.stderr.write('\n');
  } finally {
    await repo.close();
  }
}

function timeOnce(label: string, cmd: string, args: string[]): Timing & { stdout: string } {
  // Each run starts with nothing dirty: cfskit's GC syncs the file system
  // once (links before objects), and would otherwise pay for writing back
  // the copy just made, and the other tool would then find it clean.
  spawnSync('sync');
  const argv = gnuTime ? ['-f', '%M', cmd, ...args] : args;
  const started = process.hrtime.bigint();
  const r = spawnSync(gnuTime ? '/usr/bin/time' : cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${label}: exited with ${r.status}: ${r.stderr.toString()}`);
  const rss = gnuTime ? Number(r.stderr.toString().trim().split('\n').pop()) / 1024 : undefined;
  return { label, seconds, maxRssMiB: rss, stdout: r.stdout.toString() };
}

const base = await mkdtemp(join(tmpdir(), 'cfskit-bench-gc-'));
try {
  const pristine = join(base, 'pristine');
  await build(pristine);
  const before = (await countObjects(pristine)).size;
  console.log(`repository: ${before} objects, 20 images (10 tagged)`);
  const copy = (name: string): string => {
    const path = join(base, name);
    const r = spawnSync('cp', ['-al', pristine, path]);
    if (r.status !== 0) throw new Error(`cp -al: ${r.stderr.toString()}`);
    return path;
  };
  const rows: (Timing & { stdout: string })[] = [];
  const ours = copy('cfskit');
  rows.push(timeOnce('cfskit gc', process.execPath, [CFSKIT, '--repo', ours, 'gc']));
  let theirs: string | undefined;
  if (cfsctl) {
    theirs = copy('cfsctl');
    rows.push(timeOnce('cfsctl gc', cfsctl, ['--repo', theirs, 'gc']));
  } else {
    console.log('cfsctl not found (set CFSCTL=/path/to/cfsctl to compare)');
  }
  for (const r of rows) console.log(`${r.label}: ${r.stdout.trim().replace(/\n/g, '; ')}`);
  const baseline = rows[rows.length - 1] ?? rows[0];
  if (baseline) printTable(rows, baseline);
  const left = await countObjects(ours);
  console.log(`cfskit left ${left.size} of ${before} objects`);
  if (theirs !== undefined) {
    const theirsLeft = await countObjects(theirs);
    const same = left.size === theirsLeft.size && [...left].every((id) => theirsLeft.has(id));
    console.log(same ? 'both removed the same objects' : `DIFFERENT: cfsctl left ${theirsLeft.size} objects`);
    if (!same) process.exitCode = 1;
  }
} finally {
  await rm(base, { recursive: true, force: true });
}
