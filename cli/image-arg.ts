/**
 * The IMAGE argument of the commands that read an image: an image of the
 * repository when it is a digest (64 or 128 hex digits) or `refs/NAME`,
 * otherwise the path of an image file (write `./refs/x` for a file that
 * happens to be called that). The rule is syntactic, so what a command
 * reads never depends on which files exist.
 */
import { HEX_DIGEST } from '../common/index.js';
import { openImageFile, type ComposefsImageFile, readStoredImage } from '../src/image/index.js';
import type { LocationOptions } from '../src/repository/index.js';
import { withRepository } from './repo.js';

export const IMAGE_ARG_HELP =
  'an image of the repository (its digest, 64 or 128 hex digits, or refs/NAME) or else an image file (e.g. ./img, /tmp/img; ./refs/x for a file named refs/x)';

export function isRepositoryImageName(arg: string): boolean {
  return HEX_DIGEST.test(arg) || arg.startsWith('refs/');
}

/** Runs `body` with the image open, closing it (and the repository) afterwards. */
export async function withImageArg<T>(location: LocationOptions, arg: string, body: (image: ComposefsImageFile) => Promise<T>): Promise<T> {
  const use = async (image: ComposefsImageFile): Promise<T> => {
    try {
      return await body(image);
    } finally {
      image.close();
    }
  };
  if (!isRepositoryImageName(arg)) return use(await openImageFile(arg));
  return withRepository(location, {}, async (repo) => use((await readStoredImage(repo, arg)).image));
}
