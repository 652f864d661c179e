/**
 * The table bench/vs-cfsctl prints (markdown, so it can go into a note as
 * it is) and the verdict per target of issue 12: a time ratio against
 * cfsctl (or fsverity digest), peak memory ≤ 120 MiB, and peak memory
 * flat (≤ +10%) on the 3× larger image.
 */
import { median, type Measured } from './measure.js';

export interface Target {
  /** cfskit's time over the other tool's, at most. */
  readonly maxRatio: number;
}

export interface Row {
  readonly name: string;
  readonly target: Target;
  readonly runs: Record<'cfsctl' | 'cfskit', Measured[]>;
  /** Median of cfskit/cfsctl wall-time ratios, round by round. */
  readonly pairRatio: number;
  /** Whether both tools gave the same answer (undefined: nothing compared). */
  readonly same: boolean | undefined;
}

const MAX_RSS_MIB = 120;
const MAX_GROWTH = 1.1;

const s = (x: number): string => x.toFixed(2);
const mib = (x: number): string => x.toFixed(0);

function figures(runs: readonly Measured[]): { wall: number; user: number; sys: number; rss: number } {
  return {
    wall: median(runs.map((r) => r.wall)),
    user: median(runs.map((r) => r.user)),
    sys: median(runs.map((r) => r.sys)),
    rss: Math.max(...runs.map((r) => r.rssMiB)),
  };
}

/** One line: the medians, the ratio and the peaks. */
export function rowSummary(r: Row): string {
  const c = figures(r.runs.cfsctl);
  const k = figures(r.runs.cfskit);
  const same = r.same === undefined ? '' : r.same ? ', same output' : ', DIFFERENT OUTPUT';
  return `${r.name}: cfsctl ${s(c.wall)} s, cfskit ${s(k.wall)} s, ${s(r.pairRatio)}×; peak ${mib(c.rss)} / ${mib(k.rss)} MiB${same}`;
}

function table(rows: readonly Row[]): void {
  console.log('| operation | cfsctl s (user+sys) | cfskit s (user+sys) | cfskit / cfsctl | target | peak RSS cfsctl / cfskit MiB | same output |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const c = figures(r.runs.cfsctl);
    const k = figures(r.runs.cfskit);
    const same = r.same === undefined ? '–' : r.same ? 'yes' : '**NO**';
    console.log(
      `| ${r.name} | ${s(c.wall)} (${s(c.user)}+${s(c.sys)}) | ${s(k.wall)} (${s(k.user)}+${s(k.sys)}) | ${s(r.pairRatio)} | ≤ ${r.target.maxRatio} | ${mib(c.rss)} / ${mib(k.rss)} | ${same} |`,
    );
  }
}

/** Prints both tables and the verdicts; sets a failing exit code when the tools disagree. */
export function printReport(rows: readonly Row[], large: readonly Row[]): void {
  console.log('');
  table(rows);
  if (large.length > 0) {
    console.log('');
    table(large);
  }
  console.log('');
  for (const r of rows) {
    const k = figures(r.runs.cfskit);
    const time = r.pairRatio <= r.target.maxRatio;
    const mem = k.rss <= MAX_RSS_MIB;
    console.log(
      `${time ? 'met    ' : 'NOT met'}  ${r.name}: ${s(r.pairRatio)}× (target ≤ ${r.target.maxRatio}×)` +
        `\n${mem ? 'met    ' : 'NOT met'}  ${r.name}: peak ${mib(k.rss)} MiB (target ≤ ${MAX_RSS_MIB} MiB)`,
    );
  }
  for (const l of large) {
    const base = rows.find((r) => l.name === `${r.name} (3×)`);
    if (!base) continue;
    const growth = figures(l.runs.cfskit).rss / figures(base.runs.cfskit).rss;
    console.log(`${growth <= MAX_GROWTH ? 'met    ' : 'NOT met'}  ${base.name}: peak memory ×${s(growth)} on the 3× image (target ≤ ×${MAX_GROWTH})`);
  }
  const wrong = [...rows, ...large].filter((r) => r.same === false);
  for (const r of wrong) console.log(`DIFFERENT OUTPUT: ${r.name}: cfskit and the reference disagree`);
  if (wrong.length > 0) process.exitCode = 1;
}
