/**
 * composefs images of directories and dumpfiles: the image ID cfsctl
 * computes (`cfsctl compute-id`), the dumpfile it prints
 * (`cfsctl create-dumpfile`), and the image bytes themselves.
 */
import { readFile } from 'node:fs/promises';
import { type Tree, composefs, withInput } from '../core/index.js';
import { digestBytes, resolveParams, type VerityOptions } from '../fsverity/index.js';
import { takeBlob } from './blob.js';
import { DEFAULT_EROFS_VERSION, erofsFormat, type ErofsVersion } from '../../common/index.js';
import { scanTree, type ScanOptions } from './scan.js';
import type { HashAlg } from '../../common/index.js';

export interface ImageOptions {
  /** The EROFS format version (default 1, as cfsctl's `compute-id`). */
  readonly erofsVersion?: ErofsVersion;
}

export interface ImageId {
  readonly hashAlg: HashAlg;
  /** The image's fs-verity digest as hex, as `cfsctl compute-id` prints it. */
  readonly hex: string;
  readonly digest: Uint8Array;
}

export interface ComposefsImage extends ImageId {
  /** The EROFS image, byte-identical to composefs-rs's. */
  readonly bytes: Buffer;
}

function using<T>(tree: Tree, body: (tree: Tree) => T): T {
  try {
    return body(tree);
  } finally {
    tree[Symbol.dispose]();
  }
}

function idOf(hashAlg: HashAlg, digest: Uint8Array): ImageId {
  return { hashAlg, digest, hex: Buffer.from(digest).toString('hex') };
}

const formatOf = (options: ImageOptions): ReturnType<typeof erofsFormat> => erofsFormat(options.erofsVersion ?? DEFAULT_EROFS_VERSION);

/** The image ID of the directory at `path`. */
export async function computeImageId(path: string, options: ScanOptions & ImageOptions = {}): Promise<ImageId> {
  const { hashAlg } = resolveParams({ hashAlg: options.hashAlg });
  return using(await scanTree(path, options), (tree) => idOf(hashAlg, withInput(path, () => tree.imageId(formatOf(options)))));
}

/** The image of the directory at `path`, with its ID. */
export async function createImage(path: string, options: ScanOptions & ImageOptions = {}): Promise<ComposefsImage> {
  const { hashAlg } = resolveParams({ hashAlg: options.hashAlg });
  return using(await scanTree(path, options), (tree) => imageOf(path, hashAlg, tree, options));
}

/** The dumpfile of the directory at `path`. */
export async function createDumpfile(path: string, options: ScanOptions = {}): Promise<Buffer> {
  return using(await scanTree(path, options), (tree) => takeBlob(tree.dumpfile()));
}

function imageOf(input: string, hashAlg: HashAlg, tree: Tree, options: ImageOptions): ComposefsImage {
  const bytes = withInput(input, () => takeBlob(tree.writeImage(formatOf(options))));
  return { ...idOf(hashAlg, digestBytes(bytes, { hashAlg })), bytes };
}

/**
 * The image a dumpfile describes. External files are named by digests of
 * `hashAlg` (default sha512); `name` names the dumpfile in errors.
 */
export function imageFromDumpfile(text: string | Uint8Array, options: VerityOptions & ImageOptions & { name?: string } = {}): ComposefsImage {
  const { hashAlg } = resolveParams({ hashAlg: options.hashAlg });
  const name = options.name ?? 'dumpfile';
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const tree = withInput(name, () => composefs.Tree.fromDumpfile(hashAlg, bytes));
  return using(tree, (t) => imageOf(name, hashAlg, t, options));
}

/** The same, reading the dumpfile from a file. */
export async function imageFromDumpfileFile(path: string, options: VerityOptions & ImageOptions = {}): Promise<ComposefsImage> {
  return imageFromDumpfile(await readFile(path), { ...options, name: path });
}
