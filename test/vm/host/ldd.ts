/**
 * The shared libraries a host executable loads, so the guest gets exactly
 * those (at the same paths) and nothing else of the host's /usr.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/**
 * Absolute library paths from `ldd` output: `libc.so.6 => /lib/…/libc.so.6
 * (0x…)` and the loader's own `/lib64/ld-linux-x86-64.so.2 (0x…)`. The vDSO
 * has no file. A library ldd could not find is an error.
 */
export function parseLdd(output: string): string[] {
  const paths: string[] = [];
  for (const line of output.split('\n')) {
    const text = line.trim();
    if (text === '' || text.startsWith('linux-vdso') || text.startsWith('linux-gate')) continue;
    if (/not a dynamic executable|statically linked/.test(text)) continue;
    const missing = /^(\S+) => not found/.exec(text);
    if (missing) throw new Error(`shared library ${missing[1]} not found`);
    const arrow = /^\S+ => (\/\S+) \(0x[0-9a-f]+\)$/.exec(text);
    const direct = /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(text);
    const path = arrow?.[1] ?? direct?.[1];
    if (!path) throw new Error(`unexpected ldd output: ${text}`);
    paths.push(path);
  }
  return paths;
}

/** The libraries `executable` needs; none for a static one. */
export function sharedLibraries(executable: string): string[] {
  const r = spawnSync('ldd', [executable], { encoding: 'utf8' });
  if (r.error) throw new Error(`ldd ${executable}: ${r.error.message}`);
  // ldd exits 1 for a static executable, saying so.
  if (r.status !== 0 && !/not a dynamic executable/.test(`${r.stdout}${r.stderr}`)) {
    throw new Error(`ldd ${executable} failed: ${r.stderr.trim()}`);
  }
  try {
    return parseLdd(r.stdout);
  } catch (err) {
    throw new Error(`${executable}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const SEARCH = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** Where a tool is installed on the host, or undefined. */
export function findExecutable(tool: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter((d) => d.startsWith('/')), ...SEARCH];
  for (const dir of dirs) {
    const path = join(dir, tool);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not in this directory; try the next.
    }
  }
  return undefined;
}
