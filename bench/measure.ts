/**
 * One whole-process measurement with GNU time (`/usr/bin/time -o FILE`):
 * wall, user and system seconds and the peak resident memory of the
 * largest process, so a tool's own stderr never mixes with the figures.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Measured {
  readonly wall: number;
  readonly user: number;
  readonly sys: number;
  readonly rssMiB: number;
  readonly stdout: Buffer;
}

export interface Command {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

const scratch = mkdtempSync(join(tmpdir(), 'cfskit-bench-time-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));

export function haveGnuTime(): boolean {
  return spawnSync('/usr/bin/time', ['-f', '%M', 'true'], { stdio: 'ignore' }).status === 0;
}

/** Runs `c` once under GNU time; throws with its stderr when it fails. */
export function measure(label: string, c: Command): Measured {
  const out = join(scratch, 'time');
  const r = spawnSync('/usr/bin/time', ['-o', out, '-f', '%e %U %S %M', c.cmd, ...c.args], {
    env: c.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 30,
  });
  if (r.error) throw new Error(`${label}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${label}: ${c.cmd} ${c.args.join(' ')} exited with ${r.status}: ${r.stderr.toString().slice(-3000)}`);
  const fields = readFileSync(out, 'utf8').trim().split('\n').pop()?.split(' ').map(Number) ?? [];
  const [wall, user, sys, kib] = fields;
  if (wall === undefined || user === undefined || sys === undefined || kib === undefined || fields.some(Number.isNaN)) {
    throw new Error(`${label}: cannot read GNU time's figures from ${out}`);
  }
  return { wall, user, sys, rssMiB: kib / 1024, stdout: r.stdout };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
