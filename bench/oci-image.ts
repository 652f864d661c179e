/**
 * compute-id of an OS-like OCI image (≈30 000 files in 3 layers, with
 * whiteouts and an opaque directory): cfskit in-process, the `cfskit oci
 * compute-id` command, and `cfsctl oci compute-id` on the same layers when a
 * cfsctl binary is found ($CFSCTL, else composefs-rs's release build under
 * /work/ref). Both repositories (same format) get the layers, config and
 * manifest streams and tag from cfskit's import-layer, as a pull writes them.
 *   node dist/bench/oci-image.js [FILES]
 * Each command runs once to warm up, then 3 times; the fastest counts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { computeOciImageId } from '../src/oci/index.js';
import { Repository } from '../src/repository/index.js';
import { importLayers } from '../test/support/oci-import.js';
import { dir, file, hardlink, opaque, symlink, tarBytes, whiteout, type TarMember } from '../test/support/tar-writer.js';
import { printTable, timeCommand, type Timing } from './support.js';
import { seededRandom } from '../test/support/random.js';

const FILES = Number(process.argv[2] ?? 30000);
const CFSKIT = fileURLToPath(new URL('../../bin/cfskit', import.meta.url));
const TAG = 'bench/os:1';

/** One layer of `count` files under `top`, ~20 per directory. */
function layer(top: string, count: number, seed: number, extra: TarMember[] = []): Buffer {
  const rand = seededRandom(seed);
  const members: TarMember[] = [dir('usr/'), dir(`usr/${top}/`)];
  let dirName = '';
  for (let i = 0; i < count; i++) {
    if (i % 20 === 0) {
      dirName = `usr/${top}/d${Math.floor(i / 20)}`;
      members.push(dir(`${dirName}/`));
    }
    const r = rand();
    const name = `${dirName}/f${i}`;
    if (r < 0.05) members.push(symlink(name, `f${i - 1}`));
    else if (r < 0.07 && i % 20 !== 0) members.push(hardlink(name, `${dirName}/f${i - 1}`));
    else {
      const size = r < 0.45 ? Math.floor(rand() * 64) : r < 0.97 ? 65 + Math.floor(rand() * 6000) : 8192 + Math.floor(rand() * 60000);
      const data = Buffer.alloc(size);
      for (let k = 0; k < size; k++) data[k] = (i * 31 + k * 7 + (k >> 8) + seed) & 0xff;
      members.push(file(name, data));
    }
  }
  return tarBytes([...members, ...extra]);
}

async function setUp(repoPath: string, layers: readonly Buffer[]): Promise<void> {
  const repo = await Repository.open(repoPath, { write: true });
  try {
    await importLayers(repo, TAG, layers);
  } finally {
    await repo.close();
  }
}

function cfsctlBinary(): string | undefined {
  const candidates = [process.env.CFSCTL, '/work/ref/target/release/cfsctl'].filter((c): c is string => !!c);
  return candidates.find((c) => existsSync(c));
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'cfskit-bench-oci-'));
  try {
    const third = Math.floor(FILES / 3);
    const layers = [
      layer('lib', FILES - 2 * third, 1),
      layer('share', third, 2, [whiteout('usr/lib/d3', 'f61'), whiteout('usr/lib', 'd7')]),
      layer('bin', third, 3, [opaque('usr/lib/d5'), file('usr/lib/d5/new', 'new\n')]),
    ];
    console.log(`image: ${FILES} files in 3 layers, ${(layers.reduce((n, l) => n + l.length, 0) / 2 ** 20).toFixed(0)} MiB of tar`);
    const repo = join(work, 'cfskit');
    await Repository.init(repo, { insecure: true }).then((r) => r.close());
    await setUp(repo, layers);
    const started = process.hrtime.bigint();
    const opened = await Repository.open(repo);
    const id = await computeOciImageId(opened, TAG).finally(() => opened.close());
    const inProcess: Timing = { label: 'cfskit (library, first run)', seconds: Number(process.hrtime.bigint() - started) / 1e9, maxRssMiB: undefined };
    const rows = [inProcess, timeCommand('cfskit oci compute-id', process.execPath, [CFSKIT, '--repo', repo, 'oci', 'compute-id', TAG])];
    const cfsctl = cfsctlBinary();
    if (cfsctl) {
      const ref = join(work, 'cfsctl');
      spawnSync(cfsctl, ['--repo', ref, 'init', '--insecure']);
      await setUp(ref, layers);
      const theirs = spawnSync(cfsctl, ['--repo', ref, 'oci', 'compute-id', TAG]).stdout.toString().trim();
      console.log(theirs === id.hex ? 'image IDs agree' : `image IDs DIFFER: cfskit ${id.hex} cfsctl ${theirs}`);
      rows.push(timeCommand('cfsctl oci compute-id', cfsctl, ['--repo', ref, 'oci', 'compute-id', TAG]));
    }
    printTable(rows, rows[rows.length - 1] ?? inProcess);
  } finally {
    if (process.env.KEEP) console.log(`kept ${work}`); else await rm(work, { recursive: true, force: true });
  }
}

await main();
