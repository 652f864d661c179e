/**
 * `create-image`: a directory into a repository, as `cfsctl create-image`
 * does: every file the image references by digest is stored as an object
 * (reflinked where the file systems allow, so no data is copied), then the
 * EROFS image itself is stored and linked under images/ (and
 * images/refs/<name>), in each of the repository's EROFS formats (only
 * the default one named, as composefs-rs's `commit_images`). The image ID
 * equals `compute-id --erofs-version <the default>` of the same tree.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { IntegrityError, systemError } from '../../common/index.js';
import { type Repository, ImportContext, type StoreOutcome, type StoreStrategy, type ObjectId } from '../repository/index.js';
import { withInput } from '../core/index.js';
import { takeBlob } from './blob.js';
import { erofsFormat } from '../../common/index.js';
import { openImage } from './reader.js';
import { scanTreeWithFiles, type ExternalFile, type ScanOptions } from './scan.js';

export interface CreateImageOptions extends Omit<ScanOptions, 'hashAlg'> {
  /** Also link it as images/refs/<name>. */
  readonly name?: string;
  /**
   * How file content is stored, in order of preference. Default reflink,
   * then copy: the source tree stays independent of the repository. Adding
   * 'hardlink' (before 'copy') links the source files themselves into
   * objects/ when they are on the same file system: no data moves, but the
   * files must never change afterwards (and a secure repository enables
   * fs-verity on them, which makes them read-only for good).
   */
  readonly strategies?: readonly StoreStrategy[];
  /** Fail rather than copy any file's data. */
  readonly zerocopy?: boolean;
  /** Files stored at once (default 16). */
  readonly concurrency?: number;
  readonly context?: ImportContext;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface CreatedImage {
  /** The image ID (its fs-verity digest, hex). */
  readonly id: ObjectId;
  readonly name: string | undefined;
  /** Image size in bytes. */
  readonly size: number;
  /** How the image object itself was stored. */
  readonly imageMethod: StoreOutcome;
  /** Distinct objects the image references. */
  readonly objects: number;
  /** Objects by how they came to be in the repository. */
  readonly methods: Record<StoreOutcome, number>;
  /** Bytes of content referenced, counting each object once. */
  readonly bytes: number;
}

const DEFAULT_STRATEGIES: readonly StoreStrategy[] = ['reflink', 'copy'];

export async function createRepositoryImage(repo: Repository, path: string, options: CreateImageOptions = {}): Promise<CreatedImage> {
  const { tree, files } = await scanTreeWithFiles(path, {
    hashAlg: repo.hashAlg,
    propagateUsrToRoot: options.propagateUsrToRoot,
    xattrs: options.xattrs,
    bootable: options.bootable,
  });
  let images: Buffer[];
  try {
    images = repo.erofsVersions.map((version) => withInput(path, () => takeBlob(tree.writeImage(erofsFormat(version)))));
  } finally {
    tree[Symbol.dispose]();
  }
  const imageBytes = images[0] as Buffer;
  // Only what the image references: the container-root transformation
  // drops /run's files, which then need no object.
  const reader = openImage(imageBytes, { hashAlg: repo.hashAlg, name: `image of ${path}` });
  const referenced = new Set(reader.objects());
  reader.close();
  const byId = new Map<ObjectId, ExternalFile>();
  for (const file of files) {
    const id = Buffer.from(file.objectId).toString('hex');
    if (referenced.has(id) && !byId.has(id)) byId.set(id, file);
  }
  const methods: Record<StoreOutcome, number> = { reflinked: 0, hardlinked: 0, copied: 0, written: 0, 'already-present': 0 };
  const context = options.context ?? new ImportContext();
  const work = [...byId];
  let next = 0;
  let done = 0;
  let bytes = 0;
  const worker = async (): Promise<void> => {
    for (let item = work[next++]; item; item = work[next++]) {
      const [id, file] = item;
      methods[await storeFile(repo, id, file, context, options)]++;
      bytes += file.size;
      options.onProgress?.(++done, work.length);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 16, work.length)) }, worker));
  // ImageStore.write syncs the file system before the image link appears,
  // so every object above is on disk before anything names the image.
  const image = await repo.images.write(imageBytes, options.name);
  for (const extra of images.slice(1)) await repo.images.write(extra);
  return { id: image.id, name: options.name, size: imageBytes.length, imageMethod: image.method, objects: work.length, methods, bytes };
}

/** Stores one file's content as object `id`, which the scan computed. */
async function storeFile(repo: Repository, id: ObjectId, file: ExternalFile, context: ImportContext, options: CreateImageOptions): Promise<StoreOutcome> {
  if (await repo.objects.has(id, file.size)) return 'already-present';
  const name = file.path.toString();
  let handle;
  try {
    // By descriptor: the path is bytes (names need not be UTF-8).
    handle = await open(file.path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    throw systemError(err, name, 'open');
  }
  try {
    // The scan digested this content; if the file is as it was then, an
    // insecure repository need not read it again (a secure one measures).
    const st = await handle.stat({ bigint: true });
    if (st.size !== BigInt(file.size) || st.mtimeNs !== file.mtimeNs) {
      throw new IntegrityError(name, 'changed between scanning and storing it');
    }
    const stored = await repo.objects.ensureObjectFromFile(handle.fd, file.size, {
      name,
      context,
      knownId: id,
      zerocopy: options.zerocopy,
      strategies: options.strategies ?? DEFAULT_STRATEGIES,
    });
    if (stored.id !== id) throw new IntegrityError(name, `changed while the image was made (scanned as ${id}, stored as ${stored.id})`);
    return stored.method;
  } finally {
    await handle.close();
  }
}
