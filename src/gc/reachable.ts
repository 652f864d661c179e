/**
 * The live set: every object reachable from the roots. A stream keeps its
 * own object, the objects it references and, through its named refs, the
 * streams it depends on (manifest → config → layers) — and, for a named
 * ref starting with `composefs.image`, the EROFS image it names and every
 * object that image references. An image root keeps the same.
 *
 * A root that cannot be read stops everything (what it keeps is unknown).
 * A named ref to an absent object is recorded and skipped, as composefs-rs
 * does: the stream naming it is already broken (fsck reports it), and
 * nothing present is lost by going on.
 */
import { CfskitError, IntegrityError, NotFoundError, systemError } from '../../common/index.js';
import { imageObjectIds } from '../image/index.js';
import { isImageRefName } from '../oci/index.js';
import { openSplitstream } from '../splitstream/index.js';
import { openObjectFile, objectRelPath, type ObjectId, type Repository } from '../repository/index.js';

export interface Root {
  readonly kind: 'stream' | 'image';
  readonly id: ObjectId;
  /** What made it a root (`streams/refs/oci/app`, `--root …`, `mounted at /mnt`). */
  readonly because: string;
}

export interface MissingObject {
  readonly id: ObjectId;
  /** The named ref that points at it: `<stream object> ref <name>`. */
  readonly referencedBy: string;
}

export interface Reachable {
  readonly live: Set<ObjectId>;
  readonly missing: readonly MissingObject[];
  readonly streamsWalked: number;
  readonly imagesWalked: number;
}

interface Work extends Root {
  readonly root: boolean;
}

/** Streams and images read at once. */
const CONCURRENCY = 4;

function unreadable(work: Work, err: unknown): CfskitError {
  const what = `${work.kind} ${objectRelPath(work.id)} (${work.because})`;
  const detail = err instanceof Error ? err.message : String(err);
  return new IntegrityError(what, `cannot be read, so what it keeps is unknown and nothing is removed: ${detail} (see cfskit fsck)`, { cause: err });
}

/** A digest as hex, without copying it first. */
const hexOf = (digest: Uint8Array): ObjectId => Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('hex');

async function streamRefs(repo: Repository, id: ObjectId): Promise<{ objects: ObjectId[]; named: [string, ObjectId][] }> {
  const handle = await openObjectFile(repo.path, id);
  try {
    const reader = await openSplitstream(handle, objectRelPath(id), { hashAlg: repo.hashAlg });
    return {
      objects: reader.info.objectRefs.map(hexOf),
      named: [...reader.info.namedRefs].map(([name, ref]) => [name, hexOf(ref)]),
    };
  } finally {
    await handle.close();
  }
}

async function imageObjects(repo: Repository, id: ObjectId): Promise<string[]> {
  const handle = await openObjectFile(repo.path, id);
  let bytes: Buffer;
  try {
    bytes = await handle.readFile();
  } catch (err) {
    throw systemError(err, objectRelPath(id), 'read');
  } finally {
    await handle.close();
  }
  return imageObjectIds(bytes, { hashAlg: repo.hashAlg, name: objectRelPath(id) });
}

export async function findReachable(repo: Repository, roots: readonly Root[], progress?: (walked: number, queued: number) => void): Promise<Reachable> {
  const live = new Set<ObjectId>();
  const missing: MissingObject[] = [];
  const queued = { stream: new Set<ObjectId>(), image: new Set<ObjectId>() };
  const queue: Work[] = [];
  const push = (work: Work): void => {
    if (queued[work.kind].has(work.id)) return;
    queued[work.kind].add(work.id);
    queue.push(work);
  };
  for (const root of roots) push({ ...root, root: true });

  let walked = 0;
  const visit = async (work: Work): Promise<void> => {
    live.add(work.id);
    try {
      if (work.kind === 'stream') {
        const refs = await streamRefs(repo, work.id);
        for (const id of refs.objects) live.add(id);
        for (const [name, id] of refs.named) {
          push({ kind: isImageRefName(name) ? 'image' : 'stream', id, because: `${objectRelPath(work.id)} ref ${name}`, root: false });
        }
      } else {
        for (const id of await imageObjects(repo, work.id)) live.add(id);
      }
    } catch (err) {
      if (!work.root && err instanceof NotFoundError) {
        missing.push({ id: work.id, referencedBy: work.because });
        return;
      }
      throw unreadable(work, err);
    }
    progress?.(++walked, queued.stream.size + queued.image.size);
  };

  // A few readers at once; each takes the next item, and new work joins the queue.
  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < queue.length) {
      const work = queue[next++];
      if (work === undefined) return;
      try {
        await visit(work);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  // Workers end when the queue is empty at that moment, while another may
  // still add to it: run rounds until nothing new appeared.
  while (next < queue.length && failure === undefined) await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  if (failure !== undefined) throw failure;
  return { live, missing, streamsWalked: queued.stream.size, imagesWalked: queued.image.size };
}
