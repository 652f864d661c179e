/**
 * EROFS images in a repository: `images/<digest>` links to the image
 * objects cfskit (or composefs-rs) made — the only objects that may ever be
 * mounted — and `images/refs/<name>` names them.
 */
import { readdir } from 'node:fs/promises';
import { CfskitError, NotFoundError, UsageError, systemError, type HashAlg, isErrno } from '../../common/index.js';
import type { RepoDir } from './repo-dir.js';
import { resolveLink } from './links.js';
import { checkRefName } from './names.js';
import { isObjectId, objectRelPath, type ObjectId } from './object-id.js';
import type { ObjectStore, StoredObject } from './objects.js';
import { entriesBelow, replaceSymlink, removeRefLink } from './symlinks.js';

export class ImageStore {
  constructor(
    private readonly dir: RepoDir,
    private readonly objects: ObjectStore,
    private readonly hashAlg: HashAlg,
    private readonly sync: () => Promise<void>,
  ) {}

  /** Stores image bytes and links them under images/ (and images/refs/<ref>). */
  async write(image: Uint8Array, ref?: string): Promise<StoredObject> {
    if (ref !== undefined) checkRefName(ref);
    const stored = await this.objects.ensureObject(image);
    await this.sync();
    await replaceSymlink(this.dir, `images/${stored.id}`, objectRelPath(stored.id));
    if (ref !== undefined) await this.setRef(ref, stored.id);
    return stored;
  }

  async setRef(ref: string, id: ObjectId): Promise<void> {
    checkRefName(ref);
    if (!isObjectId(id, this.hashAlg)) throw new UsageError(`"${id}" is not a ${this.hashAlg} image ID`);
    await resolveLink(this.dir, `images/${id}`, this.hashAlg);
    await replaceSymlink(this.dir, `images/refs/${ref}`, `images/${id}`);
  }

  async removeRef(ref: string): Promise<void> {
    checkRefName(ref);
    await removeRefLink(this.dir, 'images/refs', ref, 'image ref');
  }

  /**
   * The image `name` names: its digest (which the caller must verify
   * before trusting the content) or `refs/<ref>`.
   */
  async resolve(name: string): Promise<{ id: ObjectId; byDigest: boolean }> {
    if (isObjectId(name, this.hashAlg)) {
      const { id } = await resolveLink(this.dir, `images/${name}`, this.hashAlg);
      return { id, byDigest: true };
    }
    if (!name.startsWith('refs/')) {
      throw new UsageError(`image name "${name}" must be a ${this.hashAlg} digest or refs/<name>`);
    }
    checkRefName(name.slice('refs/'.length));
    return { id: (await resolveLink(this.dir, `images/${name}`, this.hashAlg)).id, byDigest: false };
  }

  /**
   * Every image ref (`images/refs/<name>`, found recursively), by name,
   * with the image it names. A link that does not resolve to an image is
   * an error naming it.
   */
  async listRefs(): Promise<{ name: string; id: ObjectId }[]> {
    const base = 'images/refs';
    let entries;
    try {
      // images/ and images/refs real directories, and none below entered through a symlink.
      await this.dir.checkParents(`${base}/x`);
      entries = await entriesBelow(this.dir.path, base);
    } catch (err) {
      if (err instanceof NotFoundError) return [];
      throw err;
    }
    const refs: { name: string; id: ObjectId }[] = [];
    for (const entry of entries) {
      if (!entry.symlink) continue;
      const name = entry.rel.slice(base.length + 1);
      refs.push({ name, id: (await resolveLink(this.dir, entry.rel, this.hashAlg)).id });
    }
    return refs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Every image linked under images/. */
  async list(): Promise<ObjectId[]> {
    let entries: string[];
    try {
      await this.dir.checkParents('images/x');
      entries = await readdir(this.dir.full('images'));
    } catch (err) {
      if (isErrno(err, 'ENOENT') || err instanceof NotFoundError) return [];
      throw err instanceof CfskitError ? err : systemError(err, this.dir.full('images'), 'readdir');
    }
    return entries.filter((e) => isObjectId(e, this.hashAlg)).sort();
  }
}
