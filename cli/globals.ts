/**
 * Repository options shared by every command: `--repo DIR`, `--user`,
 * `--system`. Like cfsctl they go before the subcommand; cfskit also
 * accepts them after it.
 */
import { UsageError } from '../common/index.js';

export interface GlobalOptions {
  readonly repo: string | undefined;
  readonly user: boolean;
  readonly system: boolean;
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
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    if (arg === '--repo') {
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
      rest.push(arg);
    }
  }
  if ([repo !== undefined, user, system].filter(Boolean).length > 1) {
    throw new UsageError('choose one of --repo, --user and --system');
  }
  return { globals: { repo, user, system }, rest };
}
