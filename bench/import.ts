/**
 * bench/import: an OS-like image (≈1 GiB, ≈30 000 files, 3 layers) in a
 * containers-storage on a btrfs loop device, imported three ways in one
 * run: `cfskit oci pull containers-storage:…`, `skopeo copy … oci:DIR` (the
 * copying path), and the floor: `cp -a --reflink=always` of the layers'
 * diff/ directories plus `cfskit digest` of every file. Prints times,
 * ratios and peak memory. Needs root.
 *   node dist/bench/import.js [FILES_PER_LAYER]
 * With CFSKIT_BASELINE=/path/to/other/bin/cfskit the pull is timed twice
 * more, alternating that build and this one on the same store (a before
 * and after of a change).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withLoopFs } from '../test/support/loopfs.js';
import { writeOsLayer } from './os-layers.js';

const PER_LAYER = Number(process.argv[2] ?? 10000);
const cfskit = fileURLToPath(new URL('../../bin/cfskit', import.meta.url));

interface Row {
  readonly label: string;
  readonly seconds: number;
  readonly rssMiB: number;
}

/** Wall time and peak RSS (GNU time) of a command. */
function timed(label: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Row {
  execFileSync('sync');
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${label} failed: ${r.stderr.toString().slice(-2000)}`);
  return { label, seconds, rssMiB: Number(r.stderr.toString().trim().split('\n').pop()) / 1024 };
}

function sh(script: string): void {
  execFileSync('bash', ['-c', script], { stdio: 'inherit' });
}

if (spawnSync('/usr/bin/time', ['true']).status !== 0) throw new Error('GNU time (/usr/bin/time) is needed for peak memory: apt-get install time');

await withLoopFs('btrfs', { sizeMiB: 12 * 1024 }, async (mnt) => {
  const root = join(mnt, 'storage');
  const runroot = join(mnt, 'run');
  const podman = ['--root', root, '--runroot', runroot, '--storage-driver', 'overlay'];
  const ctx = join(mnt, 'ctx');
  let bytes = 0;
  for (const layer of [1, 2, 3]) bytes += await writeOsLayer(join(ctx, `layer${layer}`), layer, PER_LAYER);
  sh(`tar -C ${ctx}/layer1 -cf ${mnt}/base.tar . && podman ${podman.join(' ')} import -q ${mnt}/base.tar localhost/bench-base:1 >/dev/null`);
  await writeFile(join(ctx, 'Containerfile'), 'FROM localhost/bench-base:1\nCOPY layer2/ /\nCOPY layer3/ /\n');
  sh(`podman ${podman.join(' ')} build -q -t localhost/bench:1 ${ctx} >/dev/null`);
  const layersJson = JSON.parse(await readFile(join(root, 'overlay-layers/layers.json'), 'utf8')) as { id: string }[];
  console.log(`${PER_LAYER * 3} files, ${(bytes / 2 ** 30).toFixed(2)} GiB, 3 layers, btrfs loop device, 2 cores\n`);

  const rows: Row[] = [];
  const repo = join(mnt, 'repo');
  execFileSync(process.execPath, [cfskit, '--repo', repo, 'init', '--insecure']);
  const pull = (label: string, bin: string, dir: string): Row => {
    execFileSync(process.execPath, [bin, '--repo', dir, 'init', '--insecure']);
    return timed(label, process.execPath, [bin, '--repo', dir, 'oci', 'pull', 'containers-storage:localhost/bench:1', '--storage-root', root, '--progress', 'none']);
  };
  rows.push(timed('cfskit oci pull (auto)', process.execPath, [cfskit, '--repo', repo, 'oci', 'pull', 'containers-storage:localhost/bench:1', '--storage-root', root, '--progress', 'none']));
  const baseline = process.env.CFSKIT_BASELINE;
  const compared: Row[] = [];
  if (baseline) {
    for (let round = 1; round <= 2; round++) {
      compared.push(pull(`baseline oci pull, round ${round}`, baseline, join(mnt, `repo-baseline-${round}`)));
      compared.push(pull(`this oci pull, round ${round}`, cfskit, join(mnt, `repo-this-${round}`)));
    }
  }
  rows.push(
    timed('skopeo copy → oci:DIR', 'skopeo', ['copy', '-q', `containers-storage:[overlay@${root}+${runroot}]localhost/bench:1`, `oci:${join(mnt, 'oci')}:bench`]),
  );
  const diffs = layersJson.map((l) => join(root, 'overlay', l.id, 'diff'));
  const floorCp = timed('  cp -a --reflink=always', 'bash', ['-c', diffs.map((d, i) => `cp -a --reflink=always ${d} ${mnt}/floor${i}`).join(' && ')]);
  const floorDigest = timed('  cfskit digest of every file', 'bash', ['-c', `find ${diffs.join(' ')} -type f -print0 | xargs -0 -s 1900000 ${process.execPath} ${cfskit} digest > /dev/null`]);
  const floor: Row = { label: 'floor (cp --reflink + digest)', seconds: floorCp.seconds + floorDigest.seconds, rssMiB: Math.max(floorCp.rssMiB, floorDigest.rssMiB) };
  rows.push(floor, floorCp, floorDigest);
  const skopeo = rows[1]?.seconds ?? 1;
  for (const r of rows) {
    console.log(
      `${r.label.padEnd(32)} ${r.seconds.toFixed(2).padStart(7)} s  ${(r.seconds / floor.seconds).toFixed(2).padStart(5)}× floor  ` +
        `${(r.seconds / skopeo).toFixed(2).padStart(5)}× skopeo  ${r.rssMiB.toFixed(0).padStart(5)} MiB peak`,
    );
  }
  for (const r of compared) console.log(`${r.label.padEnd(32)} ${r.seconds.toFixed(2).padStart(7)} s  ${r.rssMiB.toFixed(0).padStart(5)} MiB peak`);
  sh(`podman ${podman.join(' ')} system reset -f >/dev/null 2>&1 || true`);
});
