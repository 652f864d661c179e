/**
 * bench/pull-direct: a ≈500 MB, 3-layer image (≈14 000 files, about half
 * of their bytes compressible) in a local registry (docker-registry on
 * 127.0.0.1, layers gzip as skopeo pushes them), fetched three ways, each
 * into a fresh target, best of RUNS:
 *   cfskit oci pull docker://…        (straight into a repository)
 *   skopeo copy docker://… oci:DIR    (fetching and verifying only)
 *   cfsctl oci pull docker://…        (when $CFSCTL names it; through skopeo's
 *                                      image proxy, told the registry is insecure)
 * Prints times, ratios, CPU time (user + system: on a shared machine the
 * fairer comparison) and peak memory. cfsctl's CPU time leaves out the
 * skopeo process that fetches for it.
 *   node dist/bench/pull-direct.js [RUNS] [MIB]
 * With CFSKIT_BENCH_PROF=DIR, cfskit's runs write V8 CPU profiles there
 * (node --cpu-prof) for seeing where its time goes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRegistry } from '../test/support/registry.js';
import { pushBenchImage } from './registry-image.js';

const RUNS = Number(process.argv[2] ?? 2);
const TOTAL_MIB = Number(process.argv[3] ?? 500);
const cfskit = fileURLToPath(new URL('../../bin/cfskit', import.meta.url));
const cfsctl = process.env.CFSCTL;

interface Row {
  readonly label: string;
  readonly seconds: number;
  /** User plus system CPU time: what a shared machine's load does not inflate. */
  readonly cpuSeconds: number;
  readonly rssMiB: number;
}

/** Best wall time and its peak RSS (GNU time) over RUNS, `reset` before each. */
async function timed(label: string, reset: () => Promise<void>, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Row> {
  let best: Row | undefined;
  for (let run = 0; run < RUNS; run++) {
    await reset();
    execFileSync('sync');
    const started = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', '%M %U %S', cmd, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
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

const work = await mkdtemp('/var/tmp/cfskit-bench-pull-');
const registry = await startRegistry();
try {
  const image = await pushBenchImage(registry, work, TOTAL_MIB);
  const { ref, files } = image;
  console.log(`${files} files, ${(image.uncompressed / 2 ** 20).toFixed(0)} MiB in 3 layers (${(image.compressed / 2 ** 20).toFixed(0)} MiB gzip) at ${registry.host}, best of ${RUNS}\n`);

  const rows: Row[] = [];
  const repo = join(work, 'repo');
  const freshRepo = async (): Promise<void> => {
    await rm(repo, { recursive: true, force: true });
    execFileSync(process.execPath, [cfskit, '--repo', repo, 'init', '--insecure']);
  };
  const prof = process.env.CFSKIT_BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.CFSKIT_BENCH_PROF] : [];
  rows.push(await timed('cfskit oci pull docker://', freshRepo, process.execPath, [...prof, cfskit, '--repo', repo, 'oci', 'pull', ref, '--tls-verify=false', '--progress', 'none']));
  const dir = join(work, 'oci');
  rows.push(await timed('skopeo copy → oci:DIR', () => rm(dir, { recursive: true, force: true }), 'skopeo', ['copy', '-q', '--src-tls-verify=false', ref, `oci:${dir}:bench`]));
  if (cfsctl) {
    // cfsctl reaches registries through `skopeo experimental-image-proxy`;
    // skopeo 1.9 reads no $CONTAINERS_REGISTRIES_CONF, so a wrapper passes it the insecure entry.
    const conf = join(work, 'registries.conf');
    await writeFile(conf, `[[registry]]\nlocation = "${registry.host}"\ninsecure = true\n`);
    const bin = join(work, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'skopeo'), `#!/bin/sh\nexec /usr/bin/skopeo --registries-conf ${conf} "$@"\n`);
    await chmod(join(bin, 'skopeo'), 0o755);
    const crepo = join(work, 'cfsctl-repo');
    const fresh = async (): Promise<void> => {
      await rm(crepo, { recursive: true, force: true });
      execFileSync(cfsctl, ['--repo', crepo, 'init', '--insecure']);
    };
    rows.push(await timed('cfsctl oci pull docker://', fresh, cfsctl, ['--repo', crepo, 'oci', 'pull', ref], { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` }));
  }
  const skopeo = rows[1]?.seconds ?? 1;
  const ref3 = rows[2]?.seconds;
  for (const r of rows) {
    console.log(
      `${r.label.padEnd(28)} ${r.seconds.toFixed(2).padStart(7)} s  ${(r.seconds / skopeo).toFixed(2).padStart(5)}× skopeo` +
        `${ref3 ? `  ${(r.seconds / ref3).toFixed(2).padStart(5)}× cfsctl` : ''}  ${r.cpuSeconds.toFixed(1).padStart(6)} s CPU  ${r.rssMiB.toFixed(0).padStart(5)} MiB peak`,
    );
  }
} finally {
  await registry.stop();
  await rm(work, { recursive: true, force: true });
}
