/**
 * Repository consistency check: every object's content against its name,
 * every stream and image link, every splitstream's structure and the
 * objects and streams it references. Problems are collected (kind, path,
 * detail) with the same kinds composefs-rs reports; nothing is modified.
 */
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { openImage } from '../image/index.js';
import { openObjectFile, resolveLink } from './links.js';
import { entriesBelow } from './symlinks.js';
import { META_FILE, parseMeta } from './meta.js';
import { isObjectId, objectRelPath, toObjectId, type ObjectId } from './object-id.js';
import type { Repository } from './repository.js';
import { isErrno } from '../../common/index.js';

export type ProblemKind =
  | 'metadata-parse-failed'
  | 'object-invalid-name'
  | 'object-open-failed'
  | 'object-digest-mismatch'
  | 'object-verity-missing'
  | 'object-verity-failed'
  | 'unexpected-file-type'
  | 'entry-not-symlink'
  | 'broken-symlink'
  | 'stream-open-failed'
  | 'stream-read-failed'
  | 'missing-object-ref'
  | 'missing-named-ref'
  | 'image-read-failed'
  | 'image-invalid'
  | 'image-missing-object';

export interface Problem {
  readonly kind: ProblemKind;
  /** Repository-relative path of what is wrong. */
  readonly path: string;
  readonly detail: string;
}

export interface FsckReport {
  readonly ok: boolean;
  readonly hasMetadata: boolean;
  /** 0 with `metadataOnly`. */
  readonly objectsChecked: number;
  readonly streamsChecked: number;
  readonly imagesChecked: number;
  readonly problems: readonly Problem[];
}

export interface FsckProgress {
  (stage: 'objects' | 'streams' | 'images', done: number, total: number): void;
}

export interface FsckOptions {
  /**
   * cfsctl's `fsck --metadata-only`: no object's content is read (objects
   * are only looked for); streams, images and links are checked as usual.
   */
  readonly metadataOnly?: boolean;
  readonly progress?: FsckProgress;
}

/** composefs-rs's counters, derived from the problems as it counts them. */
export interface FsckCounts {
  readonly objectsCorrupted: number;
  readonly streamsCorrupted: number;
  readonly imagesCorrupted: number;
  readonly brokenLinks: number;
  readonly missingObjects: number;
}

const ENTRY_PROBLEMS: readonly ProblemKind[] = [
  'entry-not-symlink',
  'broken-symlink',
  'stream-open-failed',
  'stream-read-failed',
  'image-read-failed',
  'image-invalid',
];
const MISSING_PROBLEMS: readonly ProblemKind[] = ['missing-object-ref', 'missing-named-ref', 'image-missing-object'];

export function fsckCounts(report: FsckReport): FsckCounts {
  const entries = (category: string): number =>
    new Set(report.problems.filter((p) => ENTRY_PROBLEMS.includes(p.kind) && p.path.startsWith(`${category}/`) && !p.path.startsWith(`${category}/refs/`)).map((p) => p.path))
      .size;
  return {
    objectsCorrupted: new Set(report.problems.filter((p) => p.path.startsWith('objects/')).map((p) => p.path)).size,
    streamsCorrupted: entries('streams'),
    imagesCorrupted: entries('images'),
    brokenLinks: report.problems.filter((p) => p.kind === 'broken-symlink').length,
    missingObjects: report.problems.filter((p) => MISSING_PROBLEMS.includes(p.kind)).length,
  };
}

/** A problem as composefs-rs prints it (`fsck: <kind>: <path>: <detail>`). */
export const describeFsckProblem = (p: Problem): string => `fsck: ${p.kind}: ${p.path}${p.detail ? `: ${p.detail}` : ''}`;

/** How many objects are verified at once (each may use worker threads). */
const CONCURRENCY = 4;

export async function fsck(repo: Repository, options: FsckOptions | FsckProgress = {}): Promise<FsckReport> {
  const { metadataOnly = false, progress } = typeof options === 'function' ? { progress: options } : options;
  const problems: Problem[] = [];
  const add = (kind: ProblemKind, path: string, detail = ''): void => {
    problems.push({ kind, path, detail });
  };
  await checkMeta(repo, add);
  const present = new Set<ObjectId>();
  const objectsChecked = await checkObjects(repo, present, add, progress, !metadataOnly);
  const streamsChecked = await checkEntries(repo, 'streams', present, add, progress);
  const imagesChecked = await checkEntries(repo, 'images', present, add, progress);
  await checkRefs(repo, 'streams/refs', add);
  await checkRefs(repo, 'images/refs', add);
  return { ok: problems.length === 0, hasMetadata: repo.hasMeta, objectsChecked, streamsChecked, imagesChecked, problems };
}

/** A problem's detail: the message of what went wrong. */
function describeProblem(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

type Add = (kind: ProblemKind, path: string, detail?: string) => void;

async function checkMeta(repo: Repository, add: Add): Promise<void> {
  if (!repo.hasMeta) return;
  try {
    parseMeta(await readFile(join(repo.path, META_FILE)), META_FILE);
  } catch (err) {
    add('metadata-parse-failed', META_FILE, describeProblem(err));
  }
}

async function listDir(path: string): Promise<string[]> {
  try {
    return (await readdir(path)).sort();
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
}

async function checkObjects(repo: Repository, present: Set<ObjectId>, add: Add, progress: FsckProgress | undefined, verify: boolean): Promise<number> {
  const candidates: { rel: string; id: ObjectId | undefined }[] = [];
  for (const dir of await listDir(join(repo.path, 'objects'))) {
    if (!/^[0-9a-f]{2}$/.test(dir)) continue;
    for (const name of await listDir(join(repo.path, 'objects', dir))) {
      const id = `${dir}${name}`;
      candidates.push({ rel: `objects/${dir}/${name}`, id: isObjectId(id, repo.hashAlg) ? id : undefined });
    }
  }
  if (!verify) {
    for (const c of candidates) if (c.id !== undefined) present.add(c.id);
    return 0;
  }
  let done = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const item = candidates[next++];
      if (!item) return;
      await checkObject(repo, item.rel, item.id, present, add);
      progress?.('objects', ++done, candidates.length);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return candidates.length;
}

async function checkObject(repo: Repository, rel: string, id: ObjectId | undefined, present: Set<ObjectId>, add: Add): Promise<void> {
  if (id === undefined) {
    add('object-invalid-name', rel, `not a ${repo.hashAlg} digest`);
    return;
  }
  const st = await lstat(join(repo.path, rel));
  if (!st.isFile()) {
    add('unexpected-file-type', rel, 'not a regular file');
    return;
  }
  present.add(id);
  let handle;
  try {
    handle = await openObjectFile(repo.path, id);
  } catch (err) {
    add('object-open-failed', rel, describeProblem(err));
    return;
  }
  try {
    const v = await repo.objects.verify(id, handle.fd);
    if (v.kind === 'verity-missing') add('object-verity-missing', rel);
    else if (v.kind === 'verity-failed') add('object-verity-failed', rel, v.detail);
    else if (v.digest !== id) add('object-digest-mismatch', rel, `measured ${v.digest}`);
  } catch (err) {
    add('object-open-failed', rel, describeProblem(err));
  } finally {
    await handle.close();
  }
}

/** streams/* or images/*: links to objects; streams are parsed too. */
async function checkEntries(
  repo: Repository,
  category: 'streams' | 'images',
  present: Set<ObjectId>,
  add: Add,
  progress?: FsckProgress,
): Promise<number> {
  const names = (await listDir(join(repo.path, category))).filter((n) => n !== 'refs' && !n.startsWith('.'));
  let checked = 0;
  for (const name of names) {
    const rel = `${category}/${name}`;
    const st = await lstat(join(repo.path, rel));
    checked++;
    progress?.(category, checked, names.length);
    if (!st.isSymbolicLink()) {
      add('entry-not-symlink', rel);
      continue;
    }
    let id: ObjectId;
    try {
      id = (await resolveLink(repo.path, rel, repo.hashAlg)).id;
    } catch (err) {
      add('broken-symlink', rel, describeProblem(err));
      continue;
    }
    if (!present.has(id)) {
      add('broken-symlink', rel, `${objectRelPath(id)} is missing`);
      continue;
    }
    if (category === 'streams') await checkStream(repo, name, rel, present, add);
    else await checkImage(repo, id, rel, present, add);
  }
  return checked;
}

async function checkStream(repo: Repository, name: string, rel: string, present: Set<ObjectId>, add: Add): Promise<void> {
  let stream;
  try {
    stream = await repo.streams.open(name);
  } catch (err) {
    add('stream-open-failed', rel, describeProblem(err));
    return;
  }
  try {
    const info = stream.reader.info;
    for (const ref of info.objectRefs) {
      const id = toObjectId(ref);
      if (!present.has(id)) add('missing-object-ref', rel, id);
    }
    for (const [refName, ref] of info.namedRefs) {
      const id = toObjectId(ref);
      if (!present.has(id)) add('missing-named-ref', rel, `ref ${refName}: ${id}`);
    }
    // Decoding every chunk checks the compressed stream and its indexes.
    for await (const chunk of stream.reader.chunks()) void chunk;
  } catch (err) {
    add('stream-read-failed', rel, describeProblem(err));
  } finally {
    await stream.close();
  }
}

/**
 * An image must parse (the hostile-input reader checks all of it) and every
 * object it references must be present. Its own digest was checked with
 * the objects.
 */
async function checkImage(repo: Repository, id: ObjectId, rel: string, present: Set<ObjectId>, add: Add): Promise<void> {
  let bytes: Buffer;
  try {
    const handle = await openObjectFile(repo.path, id);
    try {
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    add('image-read-failed', rel, describeProblem(err));
    return;
  }
  let image;
  try {
    image = openImage(bytes, { hashAlg: repo.hashAlg, name: rel });
  } catch (err) {
    add('image-invalid', rel, describeProblem(err));
    return;
  }
  try {
    // As composefs-rs reports it: the image, and the missing object's ID.
    for (const objectId of image.objects()) if (!present.has(objectId)) add('image-missing-object', rel, objectId);
  } finally {
    image.close();
  }
}

async function checkRefs(repo: Repository, dir: string, add: Add): Promise<void> {
  for (const { rel, symlink } of await entriesBelow(repo.path, dir)) {
    if (!symlink) {
      add('unexpected-file-type', rel, 'not a symlink');
      continue;
    }
    try {
      const { id } = await resolveLink(repo.path, rel, repo.hashAlg);
      // As composefs-rs: the ref is broken unless the chain ends at a file.
      await stat(join(repo.path, objectRelPath(id))).catch(() => {
        throw new Error(`${objectRelPath(id)} is missing`);
      });
    } catch (err) {
      add('broken-symlink', rel, describeProblem(err));
    }
  }
}
