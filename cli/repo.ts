/**
 * Opening the repository a command's shared options name (--repo DIR,
 * --user, --system; see repositoryArgs in command.ts): every command's
 * `args` carries them, so a command passes its own `args` here.
 */
import { Repository, repositoryPath, type LocationOptions, type OpenOptions } from '../src/repository/index.js';

export function selectedRepositoryPath(args: LocationOptions): string {
  return repositoryPath(args);
}

/** Runs `body` with the repository `args` names open, closing it however body ends. */
export async function withRepository<T>(args: LocationOptions, options: OpenOptions, body: (repo: Repository) => Promise<T>): Promise<T> {
  const repo = await Repository.open(selectedRepositoryPath(args), options);
  try {
    return await body(repo);
  } finally {
    await repo.close();
  }
}
