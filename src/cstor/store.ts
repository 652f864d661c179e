/**
 * One containers-storage store using the overlay driver, read-only:
 *
 *   overlay-images/images.json            image records
 *   overlay-images/<image id>/<key file>  big data (manifest, config, ...)
 *   overlay-layers/layers.json            layer records
 *   overlay-layers/<layer id>.tar-split.gz
 *   overlay/<layer id>/diff/              the layer's files
 *
 * Stores of other drivers (vfs, btrfs, zfs, ...) are refused: their layers
 * are not overlay diff directories.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, NotFoundError, UnsupportedError, systemError, isErrno } from '../../common/index.js';
import type { StoreLocation } from './config.js';
import { readSmallFile, readStoreJson } from './json.js';
import { isStoreId, parseImages, parseLayers, type ImageRecord, type LayerRecord } from './records.js';

const OVERLAY = new Set(['', 'overlay', 'overlay2']);
/** Big data items (manifests, configs, signatures) are small. */
const MAX_BIG_DATA = 64 << 20;

/**
 * The file name containers-storage gives a big data key: the key itself if
 * it is only [.0-9a-z], else "=" + base64(key). Like its Go code, a single
 * other character at the very end does not count.
 */
export function bigDataFileName(key: string): string {
  const bytes = Buffer.from(key, 'utf8');
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    // A multi-byte UTF-8 character stops the scan like a disallowed one.
    const width = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    i += width;
    const allowed = width === 1 && (b === 0x2e || (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7a));
    if (!allowed) break;
  }
  return i < bytes.length ? `=${bytes.toString('base64')}` : key;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch (err) {
    if (isErrno(err, 'ENOENT', 'ENOTDIR')) return false;
    throw systemError(err, path, 'stat');
  }
}

function checkId(kind: string, id: string): void {
  if (!isStoreId(id)) throw new InputError(`${kind} ${id}`, 'not a 64-digit hex ID');
}

export class Store {
  readonly root: string;
  readonly additional: boolean;
  /** Why this store was chosen (option, storage.conf, $STORAGE_OPTS, default). */
  readonly source: string;

  private constructor(location: StoreLocation) {
    this.root = location.root;
    this.additional = location.additional;
    this.source = location.source;
  }

  /** Opens the store at `location`, checking that it is an overlay store. */
  static async open(location: StoreLocation): Promise<Store> {
    const { root } = location;
    if (!(await isDirectory(root))) {
      throw new NotFoundError(root, `no containers-storage here (${location.source})`);
    }
    const driver = location.configuredDriver;
    if (!OVERLAY.has(driver)) {
      throw new UnsupportedError(`${root}: containers-storage uses the "${driver}" driver; cfskit reads only overlay stores`);
    }
    if (!(await isDirectory(join(root, 'overlay-images'))) && !(await isDirectory(join(root, 'overlay-layers')))) {
      let entries: string[];
      try {
        entries = await readdir(root);
      } catch (err) {
        throw systemError(err, root, 'readdir');
      }
      const other = entries.find((e) => /^[a-z0-9]+-(images|layers)$/.test(e) && !e.startsWith('overlay-'));
      if (other) {
        const name = other.replace(/-(images|layers)$/, '');
        throw new UnsupportedError(`${root}: containers-storage uses the "${name}" driver; cfskit reads only overlay stores`);
      }
      throw new InputError(root, 'not a containers-storage overlay store (no overlay-images/ or overlay-layers/)');
    }
    return new Store(location);
  }

  get imagesFile(): string {
    return join(this.root, 'overlay-images', 'images.json');
  }

  get layersFile(): string {
    return join(this.root, 'overlay-layers', 'layers.json');
  }

  async images(): Promise<ImageRecord[]> {
    return parseImages(this.imagesFile, await readStoreJson(this.imagesFile));
  }

  async layers(): Promise<LayerRecord[]> {
    return parseLayers(this.layersFile, await readStoreJson(this.layersFile));
  }

  bigDataPath(imageId: string, key: string): string {
    checkId('image', imageId);
    return join(this.root, 'overlay-images', imageId, bigDataFileName(key));
  }

  /** A big data item of an image (its manifest, config, ...), or undefined. */
  async bigData(imageId: string, key: string): Promise<Buffer | undefined> {
    return readSmallFile(this.bigDataPath(imageId, key), MAX_BIG_DATA);
  }

  diffDir(layerId: string): string {
    checkId('layer', layerId);
    return join(this.root, 'overlay', layerId, 'diff');
  }

  tarSplitPath(layerId: string): string {
    checkId('layer', layerId);
    return join(this.root, 'overlay-layers', `${layerId}.tar-split.gz`);
  }
}
