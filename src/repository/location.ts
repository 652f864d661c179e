/** Where a repository is when the caller does not say: as cfsctl decides. */
import { homedir } from 'node:os';
import { join } from 'node:path';

export const SYSTEM_REPOSITORY = '/sysroot/composefs';

export function userRepository(): string {
  return join(homedir(), '.var/lib/composefs');
}

export interface LocationOptions {
  readonly repo?: string | undefined;
  readonly user?: boolean;
  readonly system?: boolean;
}

/** --repo, else --user / --system, else system for root and user for others. */
export function repositoryPath(options: LocationOptions): string {
  if (options.repo !== undefined) return options.repo;
  if (options.user) return userRepository();
  if (options.system) return SYSTEM_REPOSITORY;
  return process.getuid?.() === 0 ? SYSTEM_REPOSITORY : userRepository();
}
