/**
 * Reads a directory into a composefs tree in the wasm core, as
 * composefs-rs's `read_filesystem` does: names as raw bytes, lstat
 * metadata (permission bits, uid, gid, mtime with nanoseconds), every xattr, files
 * of at most 64 bytes inline and larger ones by fs-verity digest, hard
 * links by (device, inode) whatever st_nlink says.
 */
import { closeSync, constants, lstatSync, openSync, readdirSync, readlinkSync, readSync, type BigIntStats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { type TreeEntry as Entry, type TreeNode as Node, type Tree, type Xattr, composefs, withInput, EXTERNAL_SIZE_MAX, INLINE_CONTENT_MAX } from '../core/index.js';
import { DEFAULT_XATTR_MODE, InputError, IntegrityError, LimitError, systemError, type HashAlg, type XattrMode } from '../../common/index.js';
import { digestFile, resolveParams, type VerityOptions } from '../fsverity/index.js';
import { WorkerPool } from '../workers/index.js';
import { transformDirectoryTreeForBoot } from './boot.js';
import { BATCH_FILE_MAX, type DigestBatch } from './digest-batch.js';
import { xattrReader, type XattrReader } from './xattrs.js';

/** Entries per call into the core. */
const BATCH = 4096;
/** Files digested at once (their reads overlap; hashing is one thread). */
const DIGEST_CONCURRENCY = 8;

export interface ScanOptions extends VerityOptions {
  /**
   * cfsctl's default (true): treat the directory as a container root: give
   * "/" the metadata of /usr (which must exist), empty /run, filter xattrs
   * (see `xattrs`). False is `--no-propagate-usr-to-root`: as found.
   */
  propagateUsrToRoot?: boolean;
  /** Which xattrs a container root keeps (default allowlist-only: security.capability). */
  xattrs?: XattrMode;
  /**
   * Then composefs-boot's boot transformation (`--bootable`): /boot and
   * /sysroot emptied, SELinux labels from the tree's own policy.
   */
  bootable?: boolean;
}

interface Pending {
  entry: Entry;
  /** Set for files whose digest is still being computed. */
  file?: { path: Buffer; size: number; mtimeNs: bigint };
}

const S_IFMT = 0o170000n;

/** st_mtim as (tv_sec, tv_nsec): the seconds are the floor, also before 1970. */
function mtimeOf(st: BigIntStats): { mtime: bigint; mtimeNsec: number } {
  const ns = st.mtimeNs;
  let s = ns / 1_000_000_000n;
  if (ns < 0n && s * 1_000_000_000n !== ns) s -= 1n;
  return { mtime: s, mtimeNsec: Number(ns - s * 1_000_000_000n) };
}

function join(dir: Buffer, name: Buffer): Buffer {
  return Buffer.concat([dir, Buffer.from('/'), name]);
}

class Scanner {
  readonly pending: Pending[] = [];
  private readonly links = new Map<string, Buffer>();

  constructor(
    private readonly root: Buffer,
    private readonly xattrs: XattrReader,
    private readonly small: SmallFiles,
  ) {}

  private meta(rel: Buffer, st: BigIntStats): Entry['meta'] {
    const xattrs: Xattr[] = this.xattrs(rel.length === 0 ? this.root : join(this.root, rel));
    return { mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), ...mtimeOf(st), xattrs };
  }

  /** Adds the entry at `rel` (relative path bytes, empty for the root). */
  private entry(rel: Buffer, st: BigIntStats): Node {
    const abs = rel.length === 0 ? this.root : join(this.root, rel);
    const type = st.mode & S_IFMT;
    if (type === 0o040000n) return { tag: 'directory' };
    const key = `${st.dev}:${st.ino}`;
    const first = this.links.get(key);
    if (first) return { tag: 'hardlink', val: first };
    this.links.set(key, Buffer.concat([Buffer.from('/'), rel]));
    switch (type) {
      case 0o100000n:
        if (st.size > BigInt(EXTERNAL_SIZE_MAX)) {
          // Refused by its size, before hours of hashing a sparse file.
          throw new LimitError(join(this.root, rel).toString(), `${st.size} bytes is more than a composefs image can describe (${EXTERNAL_SIZE_MAX})`);
        }
        if (st.size > BigInt(INLINE_CONTENT_MAX)) return { tag: 'external-file', val: { objectId: new Uint8Array(), size: st.size } };
        return { tag: 'inline-file', val: readSmall(abs, Number(st.size)) };
      case 0o120000n:
        return { tag: 'symlink', val: readlinkSync(abs, { encoding: 'buffer' }) };
      case 0o060000n:
        return { tag: 'block-device', val: st.rdev };
      case 0o020000n:
        return { tag: 'char-device', val: st.rdev };
      case 0o010000n:
        return { tag: 'fifo' };
      case 0o140000n:
        return { tag: 'socket' };
      default:
        throw new InputError(abs.toString(), `unknown file type ${type.toString(8)}`);
    }
  }

  private node(rel: Buffer, st: BigIntStats): Node {
    try {
      return this.entry(rel, st);
    } catch (err) {
      throw systemError(err, (rel.length === 0 ? this.root : join(this.root, rel)).toString(), 'read');
    }
  }

  private push(rel: Buffer, st: BigIntStats, node: Node): void {
    const entry: Entry = { path: Buffer.concat([Buffer.from('/'), rel]), node, meta: this.meta(rel, st) };
    if (node.tag !== 'external-file') {
      this.pending.push({ entry });
      return;
    }
    const item = { entry, file: { path: join(this.root, rel), size: Number(st.size), mtimeNs: st.mtimeNs } };
    this.pending.push(item);
    if (item.file.size <= BATCH_FILE_MAX) this.small.add(item);
  }

  /**
   * Breadth first, so parents are always added before their entries.
   * Synchronous calls: for tens of thousands of small files the promise
   * API's per-call thread-pool round trip costs more than the calls.
   */
  scan(): void {
    const rootStat = statOf(this.root);
    if ((rootStat.mode & S_IFMT) !== 0o040000n) throw new InputError(this.root.toString(), 'not a directory');
    this.push(Buffer.alloc(0), rootStat, this.node(Buffer.alloc(0), rootStat));
    let level: Buffer[] = [Buffer.alloc(0)];
    while (level.length > 0) {
      const next: Buffer[] = [];
      for (const dir of level) {
        const abs = dir.length === 0 ? this.root : join(this.root, dir);
        let names: Buffer[];
        try {
          names = readdirSync(abs, { encoding: 'buffer' });
        } catch (err) {
          throw systemError(err, abs.toString(), 'readdir');
        }
        const children = names.map((n) => (dir.length === 0 ? n : join(dir, n)));
        for (const child of children) {
          const st = statOf(join(this.root, child));
          this.push(child, st, this.node(child, st));
          if ((st.mode & S_IFMT) === 0o040000n) next.push(child);
        }
      }
      level = next;
    }
  }
}

function statOf(path: Buffer): BigIntStats {
  try {
    return lstatSync(path, { bigint: true });
  } catch (err) {
    throw systemError(err, path.toString(), 'lstat');
  }
}

function readSmall(path: Buffer, size: number): Buffer {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const buf = Buffer.alloc(size + 1);
    const n = readSync(fd, buf, 0, size + 1, 0);
    if (n !== size) throw new IntegrityError(path.toString(), `read ${n} bytes but the file had ${size} (it changed while being read)`);
    return buf.subarray(0, size);
  } finally {
    closeSync(fd);
  }
}

/** Small files go to worker threads in batches of about this many bytes. */
const BATCH_BYTES = 4 << 20;
const BATCH_FILES = 1024;

let pool: WorkerPool<DigestBatch, Uint8Array[]> | undefined;

/** Stops the scan's digest threads (idle ones never keep a process alive). */
export async function closeScanWorkers(): Promise<void> {
  const closing = pool;
  pool = undefined;
  await closing?.close();
}

/**
 * Hands small files to worker threads as the scan finds them, so hashing
 * runs alongside the (synchronous) scan on every core.
 */
class SmallFiles {
  private items: Pending[] = [];
  private bytes = 0;
  private readonly jobs: Promise<void>[] = [];

  constructor(private readonly hashAlg: HashAlg) {}

  add(item: Pending & { file: { path: Buffer; size: number } }): void {
    this.items.push(item);
    this.bytes += item.file.size;
    if (this.bytes >= BATCH_BYTES || this.items.length >= BATCH_FILES) this.flush();
  }

  flush(): void {
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.bytes = 0;
    pool ??= new WorkerPool(new URL('./digest-worker.js', import.meta.url), availableParallelism());
    const job: DigestBatch = {
      paths: items.map((i) => i.file?.path ?? Buffer.alloc(0)),
      sizes: items.map((i) => i.file?.size ?? 0),
      hashAlg: this.hashAlg,
    };
    const done = pool.run(job).then((digests) => {
      for (const [n, item] of items.entries()) {
        item.entry.node = { tag: 'external-file', val: { objectId: digests[n] ?? new Uint8Array(), size: BigInt(item.file?.size ?? 0) } };
      }
    });
    // Failures surface in `finish`; keep an early one from being unhandled.
    done.catch(() => undefined);
    this.jobs.push(done);
  }

  async finish(): Promise<void> {
    this.flush();
    await Promise.all(this.jobs);
  }
}

async function digestLarge(pending: Pending[], options: VerityOptions): Promise<void> {
  const large = pending.filter((p): p is Pending & { file: { path: Buffer; size: number } } => p.file !== undefined && p.file.size > BATCH_FILE_MAX);
  // Large files: digestFile reads them asynchronously (and hashes the
  // largest on worker threads); a few at once overlap their reads.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < large.length) {
      const item = large[next++] as (typeof large)[number];
      const name = item.file.path.toString();
      let fh: FileHandle;
      try {
        fh = await open(item.file.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      } catch (err) {
        throw systemError(err, name, 'open');
      }
      try {
        const d = await digestFile(fh, options, name);
        if (d.size !== item.file.size) throw new IntegrityError(name, `size changed from ${item.file.size} to ${d.size} bytes while scanning`);
        item.entry.node = { tag: 'external-file', val: { objectId: d.digest, size: BigInt(d.size) } };
      } finally {
        await fh.close();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(DIGEST_CONCURRENCY, large.length) }, worker));
}

/** A regular file whose content the image references by digest (not inline). */
export interface ExternalFile {
  /** Absolute path as bytes (names need not be UTF-8). */
  readonly path: Buffer;
  readonly size: number;
  /** Modification time when scanned: a later store checks the file is unchanged. */
  readonly mtimeNs: bigint;
  /** Its fs-verity digest, as the image records it. */
  readonly objectId: Uint8Array;
}

/**
 * The tree of the directory at `path`, in the wasm core. The caller owns
 * it (dispose it when done).
 */
export async function scanTree(path: string, options: ScanOptions = {}): Promise<Tree> {
  return (await scanTreeWithFiles(path, options)).tree;
}

/**
 * The same, with the files the tree references by digest: one per inode
 * (hard links share the first path's), for storing their content.
 */
export async function scanTreeWithFiles(path: string, options: ScanOptions = {}): Promise<{ tree: Tree; files: ExternalFile[] }> {
  const params = resolveParams({ hashAlg: options.hashAlg });
  const root = Buffer.from(resolvePath(path));
  const small = new SmallFiles(params.hashAlg);
  const scanner = new Scanner(root, xattrReader(), small);
  try {
    scanner.scan();
  } catch (err) {
    // Let started jobs settle before reporting the scan's own error.
    await small.finish().catch(() => undefined);
    throw err;
  }
  await small.finish();
  await digestLarge(scanner.pending, { hashAlg: params.hashAlg });
  const tree = new composefs.Tree(params.hashAlg);
  try {
    for (let i = 0; i < scanner.pending.length; i += BATCH) {
      const batch = scanner.pending.slice(i, i + BATCH).map((p) => p.entry);
      withInput(path, () => tree.addEntries(batch));
    }
    if (options.propagateUsrToRoot ?? true) withInput(path, () => tree.transformForContainer(options.xattrs ?? DEFAULT_XATTR_MODE));
    if (options.bootable) await transformDirectoryTreeForBoot(tree, root.toString(), params.hashAlg);
    const files: ExternalFile[] = [];
    for (const p of scanner.pending) {
      if (p.file && p.entry.node.tag === 'external-file') files.push({ path: p.file.path, size: p.file.size, mtimeNs: p.file.mtimeNs, objectId: p.entry.node.val.objectId });
    }
    return { tree, files };
  } catch (err) {
    tree[Symbol.dispose]();
    throw err;
  }
}
