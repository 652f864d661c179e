/**
 * bench/pull: the unified pull of a ≈500 MB, 3-layer image from a local
 * registry (bench/registry-image.ts), each way into a fresh target, best
 * of RUNS:
 *   cfskit oci pull docker://… --storage-root   (both stages)
 *   podman pull docker://… into a fresh store     (stage 1's floor)
 *   skopeo copy docker://… oci:DIR                (fetching and verifying only)
 * Prints times, the ratio of the whole cfskit pull to podman pull alone
 * (target ≤ 1.25×: stage 2 must cost little next to the fetch), CPU time
 * (user + system, children included) and peak memory.
 *   node dist/bench/pull.js [RUNS] [MIB]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removePodmanTree } from '../test/support/podman.js';
import { startRegistry } from '../test/support/registry.js';
import { pushBenchImage } from './registry-image.js';

const RUNS = Number(process.argv[2] ?? 2);
const TOTAL_MIB = Number(process.argv[3] ?? 500);
const cfskit = fileURLToPath(new URL('../../bin/cfskit', import.meta.url));

interface Row {
  readonly label: string;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly rssMiB: number;
}

async function timed(label: string, reset: () => Promise<void>, cmd: string, args: string[]): Promise<Row> {
  let best: Row | undefined;
  for (let run = 0; run < RUNS; run++) {
    await reset();
    execFileSync('sync');
    const started = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (r.status !== 0) throw new Error(`${label} failed: ${r.stderr.toString().slice(-2000)}`);
    const [kib, user, sys] = (r.stderr.toString().trim().split('\n').pop() ?? '').split(' ').map(Number);
    const row = { label, seconds, cpuSeconds: (user ?? 0) + (sys ?? 0), rssMiB: (kib ?? 0) / 1024 };
    if (!best || seconds < best.seconds) best = row;
  }
  if (!best) throw new Error('no runs');
  return best;
}

if (spawnSync('/usr/bin/time', ['true']).status !== 0) throw new Error('GNU time (/usr/bin/time) is needed for peak memory: apt-get install time');

const work = await mkdtemp('/var/tmp/cfskit-bench-unified-');
const registry = await startRegistry();
try {
  const image = await pushBenchImage(registry, work, TOTAL_MIB);
  console.log(`${image.files} files, ${(image.uncompressed / 2 ** 20).toFixed(0)} MiB in 3 layers (${(image.compressed / 2 ** 20).toFixed(0)} MiB gzip) at ${registry.host}, best of ${RUNS}\n`);
  const repo = join(work, 'repo');
  const store = join(work, 'store');
  const runRoot = join(work, 'run');
  const fresh = async (): Promise<void> => {
    await removePodmanTree(repo);
    await removePodmanTree(store);
    await removePodmanTree(runRoot);
    execFileSync(process.execPath, [cfskit, '--repo', repo, 'init', '--insecure']);
  };
  const rows: Row[] = [];
  rows.push(
    await timed('cfskit oci pull --storage-root', fresh, process.execPath, [
      cfskit, '--repo', repo, 'oci', 'pull', image.ref, '--storage-root', store, '--run-root', runRoot, '--tls-verify=false', '--progress', 'none',
    ]),
  );
  rows.push(
    await timed('podman pull (stage 1 alone)', fresh, 'podman', [
      '--root', store, '--runroot', runRoot, '--storage-driver', 'overlay', '--storage-opt', 'overlay.skip_mount_home=true', 'pull', '-q', '--tls-verify=false', image.ref,
    ]),
  );
  const dir = join(work, 'oci');
  rows.push(await timed('skopeo copy → oci:DIR', () => removePodmanTree(dir), 'skopeo', ['copy', '-q', '--src-tls-verify=false', image.ref, `oci:${dir}:bench`]));
  const podman = rows[1]?.seconds ?? 1;
  for (const r of rows) {
    console.log(
      `${r.label.padEnd(32)} ${r.seconds.toFixed(2).padStart(7)} s  ${(r.seconds / podman).toFixed(2).padStart(5)}× podman pull` +
        `  ${r.cpuSeconds.toFixed(1).padStart(6)} s CPU  ${r.rssMiB.toFixed(0).padStart(5)} MiB peak`,
    );
  }
} finally {
  await registry.stop();
  await removePodmanTree(work);
}
