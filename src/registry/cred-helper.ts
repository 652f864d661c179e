/**
 * Docker credential helpers (`docker-credential-<name> get`): the server
 * name on stdin, `{"Username":…,"Secret":…}` on stdout, or a
 * "credentials not found" message when it has none.
 */
import { spawn } from 'node:child_process';
import { AuthError } from '../../common/index.js';
import type { Credentials } from './auth-file.js';

const NAME = /^[A-Za-z0-9_.-]+$/;

export async function credentialsFromHelper(helper: string, server: string): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  if (!NAME.test(helper)) throw new AuthError(server, `credential helper name "${helper}" is not a program name`);
  const result = await new Promise<{ status: number | null; stdout: string; stderr: string; missing: boolean }>((resolve) => {
    const child = spawn(program, ['get'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', (err: NodeJS.ErrnoException) => resolve({ status: null, stdout, stderr: err.message, missing: err.code === 'ENOENT' }));
    child.on('close', (status) => resolve({ status, stdout, stderr, missing: false }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(server);
  });
  // As containers/image: a helper that is not installed has no credentials.
  if (result.missing) return undefined;
  if (result.status !== 0) {
    if (/credentials not found/i.test(result.stdout + result.stderr)) return undefined;
    throw new AuthError(server, `${program} failed: ${(result.stdout || result.stderr).trim()}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(result.stdout);
  } catch {
    throw new AuthError(server, `${program} printed something that is not JSON`);
  }
  const entry = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  if (typeof entry.Username !== 'string' || typeof entry.Secret !== 'string') throw new AuthError(server, `${program} gave no Username and Secret`);
  return { username: entry.Username, password: entry.Secret, source: program };
}
