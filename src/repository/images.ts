/**
 * EROFS images in a repository: `images/<digest>` links to the image
 * objects cfskit (or composefs-rs) made — the only objects that may ever be
 * mounted — and `images/refs/<name>` names them.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError, systemError, type HashAlg, isErrno } from '../../common/index.js';
import { resolveLink } from './links.js';
import { checkRefName } from './names.js';
import { isObjectId, objectRelPath, type ObjectId } from './object-id.js';
import type { ObjectStore, StoredObject } from './objects.js';
import { replaceSymlink, removeRefLink } from './symlinks.js';

export class ImageStore {
  constructor(
    private readonly root: string,
    private readonly objects: ObjectStore,
    private readonly hashAlg: HashAlg,
    private readonly sync: () => Promise<void>,
  ) {}

  /** Stores image bytes and links them under images/ (and images/refs/<ref>). */
  async write(image: Uint8Array, ref?: string): Promise<StoredObject> {
    if (ref !== undefined) checkRefName(ref);
    const stored = await this.objects.ensureObject(image);
    await this.sync();
    await replaceSymlink(this.root, `images/${stored.id}`, objectRelPath(stored.id));
    if (ref !== undefined) await this.setRef(ref, stored.id);
    return stored;
  }

  async setRef(ref: string, id: ObjectId): Promise<void> {
    checkRefName(ref);
    if (!isObjectId(id, this.hashAlg)) throw new UsageError(`"${id}" is not a ${this.hashAlg} image ID`);
    await resolveLink(this.root, `images/${id}`, this.hashAlg);
    await replaceSymlink(this.root, `images/refs/${ref}`, `images/${id}`);
  }

  async removeRef(ref: string): Promise<void> {
    checkRefName(ref);
    await removeRefLink(this.root, 'images/refs', ref, 'image ref');
  }

  /**
   * The image `name` names: its digest (which the caller must verify
   * before trusting the content) or `refs/<ref>`.
   */
  async resolve(name: string): Promise<{ id: ObjectId; byDigest: boolean }> {
    if (isObjectId(name, this.hashAlg)) {
      const { id } = await resolveLink(this.root, `images/${name}`, this.hashAlg);
      return { id, byDigest: true };
    }
    if (!name.startsWith('refs/')) {
      throw new UsageError(`image name "${name}" must be a ${this.hashAlg} digest or refs/<name>`);
    }
    checkRefName(name.slice('refs/'.length));
    return { id: (await resolveLink(this.root, `images/${name}`, this.hashAlg)).id, byDigest: false };
  }

  /**
   * Every image ref (`images/refs/<name>`, found recursively), by name,
   * with the image it names. A link that does not resolve to an image is
   * an error naming it.
   */
  async listRefs(): Promise<{ name: string; id: ObjectId }[]> {
    const base = join(this.root, 'images/refs');
    let entries;
    try {
      entries = await readdir(base, { recursive: true, withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw systemError(err, base, 'readdir');
    }
    const refs: { name: string; id: ObjectId }[] = [];
    for (const entry of entries) {
      if (!entry.isSymbolicLink()) continue;
      const name = join(entry.parentPath ?? entry.path, entry.name).slice(base.length + 1);
      refs.push({ name, id: (await resolveLink(this.root, `images/refs/${name}`, this.hashAlg)).id });
    }
    return refs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Every image linked under images/. */
  async list(): Promise<ObjectId[]> {
    let entries: string[];
    try {
      entries = await readdir(join(this.root, 'images'));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw systemError(err, join(this.root, 'images'), 'readdir');
    }
    return entries.filter((e) => isObjectId(e, this.hashAlg)).sort();
  }
}
