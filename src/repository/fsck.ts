/**
 * Repository consistency check: every object's content against its name,
 * every stream and image link, every splitstream's structure and the
 * objects and streams it references. Problems are collected (kind, path,
 * detail) with the same kinds composefs-rs reports; nothing is modified.
 */
import { closeSync, readSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { IMAGE_READ, openImage } from '../image/index.js';
import { checkObjects, listDir } from './fsck-objects.js';
import { openObjectFile, openObjectFileSync, resolveLink } from './links.js';
import { entriesBelow } from './symlinks.js';
import { META_FILE, META_READ, parseMeta } from './meta.js';
import { objectRelPath, toObjectId, type ObjectId } from './object-id.js';
import type { Repository } from './repository.js';
import { createHash, type Hash } from 'node:crypto';
import { IntegrityError, readBounded, readRegularFile } from '../../common/index.js';
import { describeContentType, type SplitstreamReader } from '../splitstream/index.js';
import { STREAM_PREFIXES, claimOf, digestAlgorithm, type StreamClaim } from './stream-claims.js';

/** Where OCI tags live below streams/refs/ (composefs-oci's). */
const TAG_REFS = 'oci/';

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
  | 'image-missing-object'
  // cfskit's own, beyond composefs-rs: a stream's header against what it
  // reassembles to, and streams and tags against their role.
  | 'stream-size-mismatch'
  | 'stream-trailing-data'
  | 'stream-type-mismatch'
  | 'stream-digest-mismatch'
  | 'ref-not-a-manifest';

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
   * are only looked for, and a stream whose name claims a digest is not
   * reassembled to hash it, as `oci fsck --metadata-only` does not); streams,
   * images and links are checked as usual.
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

export async function fsck(repo: Repository, options: FsckOptions | FsckProgress = {}): Promise<FsckReport> {
  const { metadataOnly = false, progress } = typeof options === 'function' ? { progress: options } : options;
  const problems: Problem[] = [];
  const add = (kind: ProblemKind, path: string, detail = ''): void => {
    problems.push({ kind, path, detail });
  };
  await checkMeta(repo, add);
  const present = new Set<ObjectId>();
  const objectsChecked = await checkObjects(repo, present, add, progress, !metadataOnly);
  const streamsChecked = await checkEntries(repo, 'streams', present, add, progress, !metadataOnly);
  const imagesChecked = await checkEntries(repo, 'images', present, add, progress, !metadataOnly);
  await checkRefs(repo, 'streams/refs', add);
  await checkRefs(repo, 'images/refs', add);
  return { ok: problems.length === 0, hasMetadata: repo.hasMeta, objectsChecked, streamsChecked, imagesChecked, problems };
}

/** A problem's detail: the message of what went wrong. */
function describeProblem(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export type Add = (kind: ProblemKind, path: string, detail?: string) => void;

async function checkMeta(repo: Repository, add: Add): Promise<void> {
  if (!repo.hasMeta) return;
  try {
    parseMeta(await readRegularFile(join(repo.path, META_FILE), META_READ), META_FILE);
  } catch (err) {
    add('metadata-parse-failed', META_FILE, describeProblem(err));
  }
}

/** streams/* or images/*: links to objects; streams are parsed too. */
async function checkEntries(
  repo: Repository,
  category: 'streams' | 'images',
  present: Set<ObjectId>,
  add: Add,
  progress: FsckProgress | undefined,
  readContent: boolean,
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
      id = (await resolveLink(repo.dir, rel, repo.hashAlg)).id;
    } catch (err) {
      add('broken-symlink', rel, describeProblem(err));
      continue;
    }
    if (!present.has(id)) {
      add('broken-symlink', rel, `${objectRelPath(id)} is missing`);
      continue;
    }
    if (category === 'streams') await checkStream(repo, name, rel, present, add, readContent);
    else await checkImage(repo, id, rel, present, add);
  }
  return checked;
}

async function checkStream(repo: Repository, name: string, rel: string, present: Set<ObjectId>, add: Add, readContent: boolean): Promise<void> {
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
    if (info.sectionsEnd < info.fileSize) {
      add('stream-trailing-data', rel, `${info.fileSize - info.sectionsEnd} bytes after its last section (at ${info.sectionsEnd})`);
    }
    const claim = claimOf(name);
    if (claim && info.contentType !== claim.contentType) {
      add('stream-type-mismatch', rel, `content type ${describeContentType(info.contentType)}, but an ${claim.role} stream is ${describeContentType(claim.contentType)}`);
    }
    // Decoding every chunk checks the compressed stream and its indexes;
    // adding up what it rebuilds checks stream_size; a stream whose name
    // claims a digest is reassembled and hashed (unless no content is to be read).
    const rebuilt = await rebuild(repo, stream.reader, present, readContent ? claim : undefined);
    if (rebuilt.complete && rebuilt.size !== info.streamSize) {
      add('stream-size-mismatch', rel, `stream_size says ${info.streamSize} bytes, its chunks make ${rebuilt.size}`);
    } else if (claim && rebuilt.digest !== undefined && rebuilt.digest !== claim.digest) {
      add('stream-digest-mismatch', rel, `reassembled content has digest ${rebuilt.digest}, not its ${claim.what}`);
    }
  } catch (err) {
    add('stream-read-failed', rel, describeProblem(err));
  } finally {
    await stream.close();
  }
}

/**
 * What a stream reassembles to: its size (inline bytes plus each object's
 * size, each time it is referenced) and, with a claim, its digest. Objects
 * already reported missing are left out (the size then differs too), so
 * objects are only read for a claimed digest.
 */
async function rebuild(
  repo: Repository,
  reader: SplitstreamReader,
  present: ReadonlySet<ObjectId>,
  claim: StreamClaim | undefined,
): Promise<{ size: bigint; digest: string | undefined; complete: boolean }> {
  const hash = claim ? createHash(digestAlgorithm(claim.digest)) : undefined;
  let buffer: Buffer | undefined;
  let size = 0n;
  // Objects are opened synchronously, beneath objects/'s descriptor: open
  // it first (failing to is this stream's problem, as any open's would be).
  if (repo.dir.confined) await repo.dir.objectsFd();
  let complete = true;
  for await (const chunk of reader.chunks()) {
    if (chunk.kind === 'inline') {
      size += BigInt(chunk.data.length);
      hash?.update(chunk.data);
      continue;
    }
    const id = toObjectId(chunk.objectId);
    if (!present.has(id)) {
      complete = false;
      continue;
    }
    // Synchronous: thousands of objects per layer, each microseconds from
    // the page cache, where the promise API's round trips took most of the time.
    const object = openObjectFileSync(repo.dir, id);
    try {
      if (!hash) {
        size += BigInt(object.size);
        continue;
      }
      buffer ??= Buffer.allocUnsafe(HASH_CHUNK);
      hashObject(object.fd, objectRelPath(id), object.size, hash, buffer);
      size += BigInt(object.size);
    } finally {
      closeSync(object.fd);
    }
  }
  const digest = hash && complete && claim ? `${digestAlgorithm(claim.digest)}:${hash.digest('hex')}` : undefined;
  return { size, digest, complete };
}

/** Bytes per read when a stream's objects are hashed. */
const HASH_CHUNK = 1 << 20;

/** Feeds `size` bytes of `fd` to `hash`, through `buffer`; ending early is an IntegrityError naming `path`. */
function hashObject(fd: number, path: string, size: number, hash: Hash, buffer: Buffer): void {
  for (let pos = 0; pos < size; ) {
    const got = readSync(fd, buffer, 0, Math.min(buffer.length, size - pos), pos);
    if (got === 0) throw new IntegrityError(path, `file ended at byte ${pos}, expected ${size} bytes (it changed while being read)`);
    hash.update(buffer.subarray(0, got));
    pos += got;
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
    const handle = await openObjectFile(repo.dir, id);
    try {
      bytes = await readBounded(handle, rel, (await handle.stat()).size, IMAGE_READ);
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
    let chain: readonly string[];
    try {
      const resolved = await resolveLink(repo.dir, rel, repo.hashAlg);
      chain = resolved.chain;
      // As composefs-rs: the ref is broken unless the chain ends at a file.
      const objectRel = objectRelPath(resolved.id);
      const handle = await repo.dir.open(objectRel).catch(() => {
        throw new Error(`${objectRel} is missing`);
      });
      await handle.close();
    } catch (err) {
      add('broken-symlink', rel, describeProblem(err));
      continue;
    }
    // An OCI tag names an image by its manifest stream, nothing else.
    const target = chain[1] ?? '';
    if (rel.startsWith(`streams/refs/${TAG_REFS}`) && !target.startsWith(`streams/${STREAM_PREFIXES.manifest}`)) {
      add('ref-not-a-manifest', rel, `an OCI tag points at ${target || 'an object'}, not at an oci-manifest- stream`);
    }
  }
}
