/**
 * Images linked under a repository's images/: found by digest or
 * `refs/<name>` (never an arbitrary object), opened without following a
 * symlink out of the repository, and checked against their ID before
 * anything trusts their content.
 */
import type { FileHandle } from 'node:fs/promises';
import { IntegrityError, systemError } from '../../common/index.js';
import { digestBytes } from '../fsverity/index.js';
import { openObjectFile, expectVerified, objectRelPath, toObjectId, type ObjectId, type Repository } from '../repository/index.js';
import { openImage, type ComposefsImageFile } from './reader.js';

export interface StoredImageFile {
  readonly id: ObjectId;
  /** Named by its digest rather than by a ref. */
  readonly byDigest: boolean;
  /** The image object, open read-only; the caller closes it. */
  readonly handle: FileHandle;
}

/**
 * Opens the image `name` names and verifies the open file against its ID:
 * the kernel's fs-verity measurement (and every block read through it) in
 * a secure repository, a computed digest otherwise. What is verified is the
 * very descriptor returned, so nothing can be swapped in between.
 */
export async function openStoredImage(repo: Repository, name: string): Promise<StoredImageFile> {
  const { id, byDigest } = await repo.images.resolve(name);
  const handle = await openObjectFile(repo.path, id);
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new IntegrityError(objectRelPath(id), 'image object is not a regular file');
    expectVerified(await repo.objects.verify(id, handle.fd), id);
    return { id, byDigest, handle };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/**
 * Reads and parses the image `name` names (hostile-input reader), after
 * checking the digest of the bytes read against its ID.
 */
export async function readStoredImage(repo: Repository, name: string): Promise<{ id: ObjectId; image: ComposefsImageFile }> {
  const { id } = await repo.images.resolve(name);
  const rel = objectRelPath(id);
  const handle = await openObjectFile(repo.path, id);
  let bytes: Buffer;
  try {
    bytes = await handle.readFile();
  } catch (err) {
    throw systemError(err, rel, 'read');
  } finally {
    await handle.close();
  }
  const digest = toObjectId(digestBytes(bytes, { hashAlg: repo.hashAlg }));
  if (digest !== id) throw new IntegrityError(rel, `image content digest is ${digest}, not its name`);
  return { id, image: openImage(bytes, { hashAlg: repo.hashAlg, name: `image ${name}` }) };
}
