/**
 * bootc's tags in the repository (`localhost/bootc-<manifest digest>`):
 * listed straight from their links, so a tag whose image is gone is still
 * seen (and can be removed), and added or removed as `oci tag`/`untag` do.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { systemError } from '../../common/index.js';
import { manifestContentId, tagImage } from '../oci/index.js';
import { bootcTag, manifestOfBootcTag } from './layout.js';
import { decodeTag, type Repository, readRepoLink } from '../repository/index.js';

export interface BootcTag {
  readonly tag: string;
  /** Its ref below streams/refs/. */
  readonly ref: string;
  /** The manifest digest its name says. */
  readonly manifestDigest: string;
  /** Whether the link leads to that manifest's stream entry. */
  readonly pointsAtManifest: boolean;
}

export async function listBootcTags(repo: Repository): Promise<BootcTag[]> {
  const dir = join(repo.path, 'streams/refs/oci');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw systemError(err, dir, 'readdir');
  }
  const tags: BootcTag[] = [];
  for (const encoded of names.sort()) {
    const tag = decodeTag(encoded);
    const manifestDigest = manifestOfBootcTag(tag);
    if (manifestDigest === undefined) continue;
    const ref = `oci/${encoded}`;
    const target = await readRepoLink(repo.path, `streams/refs/${ref}`).catch(() => undefined);
    tags.push({ tag, ref, manifestDigest, pointsAtManifest: target === `streams/${manifestContentId(manifestDigest)}` });
  }
  return tags;
}

export async function addBootcTag(repo: Repository, manifestDigest: string): Promise<void> {
  await tagImage(repo, manifestDigest, bootcTag(manifestDigest));
}

export async function removeBootcTag(repo: Repository, tag: BootcTag): Promise<void> {
  await repo.streams.removeRef(tag.ref);
}
