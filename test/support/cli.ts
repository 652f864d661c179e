/** Running the built CLI and reference tools as child processes. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CFSKIT = fileURLToPath(new URL('../../../bin/cfskit', import.meta.url));

export interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutBytes: Buffer;
}

export function run(cmd: string, args: readonly string[], options: { input?: Buffer | string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: options.env ?? process.env, cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    // A command may exit without reading all its input; that is its business.
    child.stdin.on('error', () => undefined);
    child.on('close', (status) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ status, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
    child.stdin.end(options.input);
  });
}

export function cfskit(args: readonly string[], options: Parameters<typeof run>[2] = {}): Promise<Run> {
  return run(process.execPath, [CFSKIT, ...args], options);
}

/** Runs a command that must succeed; returns its stdout. */
export async function check(cmd: string, args: readonly string[], options: Parameters<typeof run>[2] = {}): Promise<string> {
  const r = await run(cmd, args, options);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
