/**
 * Options shared by every command, as cfsctl has them: `--repo DIR`,
 * `--user`, `--system` and `--erofs-version N` (like cfsctl they go
 * before the subcommand; cfskit also accepts them after it), and, only
 * before the subcommand, cfsctl's `--insecure` (for `compute-karg`),
 * `--hash sha256|sha512` and `--no-repo`.
 */
import { UsageError } from '../src/errors.js';
import { parseErofsVersion, type ErofsVersion } from '../src/image/format.js';

export interface GlobalOptions {
  readonly repo: string | undefined;
  readonly user: boolean;
  readonly system: boolean;
  /** Make images in this format, whatever the repository's meta.json says. */
  readonly erofsVersion?: ErofsVersion;
  readonly insecure?: boolean;
  readonly hash?: 'sha256' | 'sha512';
  readonly noRepo?: boolean;
}

let current: GlobalOptions = { repo: undefined, user: false, system: false };

export function globals(): GlobalOptions {
  return current;
}

export function setGlobals(g: GlobalOptions): void {
  current = g;
}

export function extractGlobals(argv: readonly string[]): { globals: GlobalOptions; rest: string[] } {
  let repo: string | undefined;
  let user = false;
  let system = false;
  let erofsVersion: ErofsVersion | undefined;
  let insecure = false;
  let hash: 'sha256' | 'sha512' | undefined;
  let noRepo = false;
  let beforeCommand = true;
  const rest: string[] = [];
  const valueOf = (i: number, name: string): string => {
    const value = argv[i + 1];
    if (value === undefined || value === '') throw new UsageError(`option ${name} needs a value`);
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === '--erofs-version' || arg.startsWith('--erofs-version=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : valueOf(i++, arg);
      erofsVersion = parseErofsVersion(value);
    } else if (beforeCommand && arg === '--insecure') {
      insecure = true;
    } else if (beforeCommand && arg === '--no-repo') {
      noRepo = true;
    } else if (beforeCommand && (arg === '--hash' || arg.startsWith('--hash='))) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : valueOf(i++, arg);
      if (value !== 'sha256' && value !== 'sha512') throw new UsageError(`option --hash must be one of sha256, sha512 (got "${value}")`);
      hash = value;
    } else if (arg === '--repo') {
      const value = argv[i + 1];
      if (value === undefined || value === '') throw new UsageError('option --repo needs a directory');
      repo = value;
      i++;
    } else if (arg.startsWith('--repo=')) {
      repo = arg.slice('--repo='.length);
      if (repo === '') throw new UsageError('option --repo needs a directory');
    } else if (arg === '--user') {
      user = true;
    } else if (arg === '--system') {
      system = true;
    } else {
      if (!arg.startsWith('-')) beforeCommand = false;
      rest.push(arg);
    }
  }
  if ([repo !== undefined, user, system].filter(Boolean).length > 1) {
    throw new UsageError('choose one of --repo, --user and --system');
  }
  return { globals: { repo, user, system, erofsVersion, insecure, hash, noRepo }, rest };
}
