/** Opening the repository the global options name, for commands. */
import { Repository, repositoryPath, type OpenOptions } from '../src/repository/index.js';
import { globals } from './globals.js';

export function selectedRepositoryPath(): string {
  return repositoryPath(globals());
}

/** Runs `body` with the repository open, closing it however body ends. */
export async function withRepository<T>(options: OpenOptions, body: (repo: Repository) => Promise<T>): Promise<T> {
  const repo = await Repository.open(selectedRepositoryPath(), { erofsVersion: globals().erofsVersion, ...options });
  try {
    return await body(repo);
  } finally {
    await repo.close();
  }
}
