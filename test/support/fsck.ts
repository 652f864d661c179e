/** What fsck finds in the repository at `path`, for tests that damage one. */
import { fsck, type Problem } from '../../src/repository/fsck.js';
import { Repository } from '../../src/repository/index.js';

export async function fsckProblems(path: string): Promise<Problem[]> {
  const repo = await Repository.open(path);
  try {
    return [...(await fsck(repo)).problems];
  } finally {
    await repo.close();
  }
}

/** `objects/xx/rest`, spelled out here rather than taken from the code under test. */
export const objectRel = (id: string): string => `objects/${id.slice(0, 2)}/${id.slice(2)}`;
