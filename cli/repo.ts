/**
 * Opening the repository a command's shared options name (--repo DIR,
 * --user, --system, and --erofs-version for the images it makes; see
 * repositoryArgs in command.ts): every command's `args` carries them, so a
 * command passes its own `args` here.
 */
import { parseErofsVersion, type ErofsVersion } from '../common/index.js';
import { Repository, repositoryPath, type LocationOptions, type OpenOptions } from '../src/repository/index.js';

export interface SharedArgs extends LocationOptions {
  readonly erofsVersion?: string | undefined;
}

export function selectedRepositoryPath(args: LocationOptions): string {
  return repositoryPath(args);
}

/** The --erofs-version given, if any. */
export function erofsVersionOption(args: SharedArgs): ErofsVersion | undefined {
  return args.erofsVersion === undefined ? undefined : parseErofsVersion(args.erofsVersion);
}

/** Runs `body` with the repository `args` names open, closing it however body ends. */
export async function withRepository<T>(args: SharedArgs, options: OpenOptions, body: (repo: Repository) => Promise<T>): Promise<T> {
  const erofsVersion = erofsVersionOption(args);
  const repo = await Repository.open(selectedRepositoryPath(args), { ...(erofsVersion === undefined ? {} : { erofsVersion }), ...options });
  try {
    return await body(repo);
  } finally {
    await repo.close();
  }
}
