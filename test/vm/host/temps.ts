/**
 * The run's temp directory (the scratch image lives there), removed however
 * the run ends: normally, on an exception, on a signal, or, for a run that
 * was SIGKILLed and ran no handler, by the next run (the pid is in the name).
 */
import { rmSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PREFIX = 'cfskit-vm-';
const temps = new Set<string>();

/** Removes the temp directories of earlier runs whose process is gone. */
async function removeStale(): Promise<void> {
  for (const name of await readdir(tmpdir())) {
    const pid = Number(new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1] ?? NaN);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ESRCH') await rm(join(tmpdir(), name), { recursive: true, force: true });
    }
  }
}

/** A new temp directory for this run. */
export async function makeRunTemp(): Promise<string> {
  await removeStale();
  const dir = await mkdtemp(join(tmpdir(), `${PREFIX}${process.pid}-`));
  temps.add(dir);
  return dir;
}

/** Removes this run's temp directories; synchronous, so a signal handler can use it. */
export function removeRunTemps(): void {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
  temps.clear();
}
