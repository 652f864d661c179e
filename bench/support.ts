/** Timing of whole commands for the benchmarks: best of N wall-clock runs. */
import { spawnSync } from 'node:child_process';

export interface Timing {
  readonly label: string;
  readonly seconds: number;
  /** Peak resident memory of the command, when GNU time is installed. */
  readonly maxRssMiB: number | undefined;
}

const gnuTime = spawnSync('/usr/bin/time', ['-f', '%M', 'true']).status === 0;

/** Runs `cmd` `runs` times (after one warm-up) and keeps the fastest. */
export function timeCommand(label: string, cmd: string, args: string[], runs = 3): Timing {
  let best = Number.POSITIVE_INFINITY;
  let rss: number | undefined;
  for (let i = 0; i <= runs; i++) {
    const argv = gnuTime ? ['-f', '%M', cmd, ...args] : args;
    const started = process.hrtime.bigint();
    const r = spawnSync(gnuTime ? '/usr/bin/time' : cmd, argv, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (r.status !== 0) throw new Error(`${label}: ${cmd} exited with ${r.status}: ${r.stderr.toString()}`);
    if (i === 0) continue;
    if (seconds < best) best = seconds;
    if (gnuTime) {
      const kib = Number(r.stderr.toString().trim().split('\n').pop());
      rss = Math.max(rss ?? 0, kib / 1024);
    }
  }
  return { label, seconds: best, maxRssMiB: rss };
}

export function printTable(rows: readonly Timing[], baseline: Timing): void {
  const width = Math.max(...rows.map((r) => r.label.length));
  for (const r of rows) {
    const ratio = (r.seconds / baseline.seconds).toFixed(2);
    const mem = r.maxRssMiB === undefined ? '' : `  ${r.maxRssMiB.toFixed(0).padStart(5)} MiB peak`;
    console.log(`${r.label.padEnd(width)}  ${r.seconds.toFixed(3).padStart(8)} s  ${ratio.padStart(5)}× ${baseline.label}${mem}`);
  }
}
