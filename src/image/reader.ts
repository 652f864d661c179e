/**
 * Reading composefs images (files on disk or bytes): walk, stat, readlink,
 * xattrs, the objects files are backed by, dumpfiles. The wasm core checks
 * the whole image as hostile input when it is opened.
 */
import { readFile } from 'node:fs/promises';
import { type DirEntry, type ImageReader, type InodeStat, composefs, withInput } from '../core/index.js';
import { systemError, type HashAlg } from '../../common/index.js';
import { resolveParams } from '../fsverity/index.js';
import { takeBlob } from './blob.js';

export type FileType = InodeStat['fileType'];

export interface ImageStat {
  readonly fileType: FileType;
  /** Permission bits. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Seconds since the epoch. */
  readonly mtime: number;
  /** V0/V1 images keep nanoseconds; V2 images have 0. */
  readonly mtimeNsec: number;
  readonly size: number;
  readonly nlink: number;
  readonly rdev: number;
  readonly xattrs: ReadonlyMap<string, Buffer>;
  readonly symlinkTarget: Buffer | undefined;
  /** Hex fs-verity digest of the object backing an external file. */
  readonly objectId: string | undefined;
  /** The image inode: entries with the same one are hard links. */
  readonly inode: number;
}

export type ImagePath = string | Uint8Array;

const bytesOf = (p: ImagePath): Uint8Array => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p);

function statOf(s: InodeStat): ImageStat {
  return {
    fileType: s.fileType,
    mode: s.mode,
    uid: s.uid,
    gid: s.gid,
    mtime: Number(s.mtime),
    mtimeNsec: s.mtimeNsec,
    size: Number(s.size),
    nlink: s.nlink,
    rdev: Number(s.rdev),
    // Names as latin1 keep every byte; most are ASCII anyway.
    xattrs: new Map(s.xattrs.map((x) => [Buffer.from(x.name).toString('latin1'), Buffer.from(x.value)])),
    symlinkTarget: s.symlinkTarget ? Buffer.from(s.symlinkTarget) : undefined,
    objectId: s.objectId ? Buffer.from(s.objectId).toString('hex') : undefined,
    inode: Number(s.inode),
  };
}

export class ComposefsImageFile {
  /** `name` is what errors call the image (its path, usually). */
  constructor(
    private readonly reader: ImageReader,
    readonly name: string,
  ) {}

  get hashAlg(): HashAlg {
    return this.reader.algorithm();
  }

  get entryCount(): number {
    return Number(this.reader.entryCount());
  }

  stat(path: ImagePath): ImageStat {
    return statOf(withInput(this.name, () => this.reader.stat(bytesOf(path))));
  }

  /** A directory's entries in name order. */
  readDir(path: ImagePath): { name: Buffer; stat: ImageStat }[] {
    const entries: DirEntry[] = withInput(this.name, () => this.reader.readDir(bytesOf(path)));
    return entries.map((e) => ({ name: Buffer.from(e.name), stat: statOf(e.stat) }));
  }

  readlink(path: ImagePath): Buffer {
    return Buffer.from(withInput(this.name, () => this.reader.readlink(bytesOf(path))));
  }

  /**
   * A regular file's bytes when the image holds them (small files);
   * undefined when they are a repository object (`stat().objectId`).
   */
  inlineContent(path: ImagePath): Buffer | undefined {
    const data = withInput(this.name, () => this.reader.inlineContent(bytesOf(path)));
    return data === undefined ? undefined : Buffer.from(data);
  }

  /** Hex digests of every object the image references, sorted. */
  objects(): string[] {
    return unpackIds(this.reader.objectsPacked(), this.hashAlg === 'sha256' ? 32 : 64);
  }

  dumpfile(): Buffer {
    return takeBlob(this.reader.dumpfile());
  }

  /** What `cfsctl dump-files` prints for these paths. */
  dumpFiles(paths: ImagePath[], options: { backingPathOnly?: boolean } = {}): Buffer {
    const blob = withInput(this.name, () => this.reader.dumpFiles(paths.map(bytesOf), options.backingPathOnly ?? false));
    return takeBlob(blob);
  }

  close(): void {
    this.reader[Symbol.dispose]();
  }
}

/** Hex digests packed one after another (`size` bytes each). */
function unpackIds(packed: Uint8Array, size: number): string[] {
  const bytes = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  const ids: string[] = [];
  for (let at = 0; at < bytes.length; at += size) ids.push(bytes.toString('hex', at, at + size));
  return ids;
}

/**
 * The objects an image references, sorted, without building its tree (the
 * cheap way for garbage collection); `name` names the image in errors.
 */
export function imageObjectIds(bytes: Uint8Array, options: { hashAlg: HashAlg; name: string }): string[] {
  const packed = withInput(options.name, () => composefs.imageObjects(bytes, options.hashAlg));
  return unpackIds(packed, options.hashAlg === 'sha256' ? 32 : 64);
}

/** Opens image bytes; `hashAlg` undefined takes it from the image. */
export function openImage(bytes: Uint8Array, options: { hashAlg?: string; name?: string } = {}): ComposefsImageFile {
  const name = options.name ?? 'image';
  const alg = options.hashAlg === undefined ? undefined : resolveParams({ hashAlg: options.hashAlg }).hashAlg;
  return new ComposefsImageFile(withInput(name, () => composefs.ImageReader.open(bytes, alg)), name);
}

/** Opens the image file at `path`. */
export async function openImageFile(path: string, options: { hashAlg?: string } = {}): Promise<ComposefsImageFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw systemError(err, path, 'open');
  }
  return openImage(bytes, { ...options, name: path });
}
