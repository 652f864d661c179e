/**
 * containers-storage as podman sees it: a primary store and any number of
 * read-only additional image stores, searched in that order. Finds images
 * by ID (full or unique prefix), by name (normalised like podman) or by
 * manifest digest, and walks an image's layer chain through parent links,
 * which may cross stores (a primary store's layer on top of an additional
 * store's base). The records are read once, when first needed.
 */
import { InputError, NotFoundError, UsageError } from '../../common/index.js';
import { locateStores, type StorageOptions } from './config.js';
import { isDigest, type ImageRecord, type LayerRecord } from './records.js';
import { candidateNames, matchesShortName, parseReference } from './reference.js';
import { Store } from './store.js';

export interface StoredImage extends ImageRecord {
  readonly store: Store;
}

export interface StoredLayer extends LayerRecord {
  readonly store: Store;
  /** `overlay/<id>/diff`: the layer's files. */
  readonly diffDir: string;
  /** `overlay-layers/<id>.tar-split.gz`. */
  readonly tarSplitPath: string;
}

/** Layer chains deeper than this are damage (podman allows 127 layers). */
const MAX_DEPTH = 1000;
const MIN_PREFIX = 3;
const HEX_PREFIX = /^(?:sha256:)?([0-9a-f]+)$/;

/** `3f2a8c0e91b4…`, as errors name layers and images. */
export const shortId = (id: string): string => `${id.slice(0, 12)}…`;

export class ContainersStorage {
  readonly stores: readonly Store[];
  #images: Promise<StoredImage[]> | undefined;
  #layers: Promise<Map<string, StoredLayer>> | undefined;

  private constructor(stores: Store[]) {
    this.stores = stores;
  }

  /** Finds and opens the stores (see `locateStores` for the search order). */
  static async open(options: StorageOptions = {}): Promise<ContainersStorage> {
    const locations = await locateStores(options);
    const stores: Store[] = [];
    for (const location of locations) stores.push(await Store.open(location));
    return new ContainersStorage(stores);
  }

  /** Every image; an ID present in several stores is listed from the first. */
  images(): Promise<StoredImage[]> {
    this.#images ??= (async () => {
      const seen = new Set<string>();
      const out: StoredImage[] = [];
      for (const store of this.stores) {
        for (const image of await store.images()) {
          if (seen.has(image.id)) continue;
          seen.add(image.id);
          out.push({ ...image, store });
        }
      }
      return out;
    })();
    return this.#images;
  }

  #layerMap(): Promise<Map<string, StoredLayer>> {
    this.#layers ??= (async () => {
      const map = new Map<string, StoredLayer>();
      for (const store of this.stores) {
        for (const layer of await store.layers()) {
          if (map.has(layer.id)) continue;
          map.set(layer.id, { ...layer, store, diffDir: store.diffDir(layer.id), tarSplitPath: store.tarSplitPath(layer.id) });
        }
      }
      return map;
    })();
    return this.#layers;
  }

  async layers(): Promise<StoredLayer[]> {
    return [...(await this.#layerMap()).values()];
  }

  /** An image by ID or unique ID prefix, name, `name@digest` or manifest digest. */
  async findImage(text: string): Promise<StoredImage> {
    const ref = text.startsWith('containers-storage:') ? text.slice('containers-storage:'.length) : text;
    const images = await this.images();
    const hex = HEX_PREFIX.exec(ref)?.[1];
    if (hex !== undefined && hex.length >= MIN_PREFIX && hex.length <= 64) {
      const byId = images.filter((i) => i.id.startsWith(hex));
      if (byId.length === 1 && byId[0]) return byId[0];
      if (byId.length > 1) throw ambiguous(text, 'image ID prefix', byId.map((i) => i.id));
    }
    const digest = ref.startsWith('@') ? ref.slice(1) : isDigest(ref) ? ref : undefined;
    if (digest !== undefined) {
      const byDigest = images.filter((i) => i.digests.includes(digest));
      return one(text, 'manifest digest', byDigest, this.stores);
    }
    const parsed = parseReference(ref);
    for (const name of candidateNames(parsed)) {
      const exact = images.filter((i) => i.names.includes(name));
      if (exact.length > 0) return one(text, 'name', exact, this.stores);
    }
    if (parsed.digest) {
      // `repo@digest`: the stored names may carry only a tag.
      const byRepoDigest = images.filter(
        (i) => i.digests.includes(parsed.digest ?? '') && i.names.some((n) => n.startsWith(`${parsed.repository}:`) || n.startsWith(`${parsed.repository}@`)),
      );
      if (byRepoDigest.length > 0) return one(text, 'name and digest', byRepoDigest, this.stores);
    }
    const byShortName = images.filter((i) => i.names.some((n) => matchesShortName(n, parsed)));
    return one(text, 'short name', byShortName, this.stores);
  }

  /** A layer by ID or unique ID prefix. */
  async findLayer(text: string): Promise<StoredLayer> {
    const hex = HEX_PREFIX.exec(text)?.[1];
    if (hex === undefined || hex.length < MIN_PREFIX || hex.length > 64) {
      throw new UsageError(`invalid layer ID "${text}" (expected ${MIN_PREFIX} to 64 hex digits)`);
    }
    const matches = (await this.layers()).filter((l) => l.id.startsWith(hex));
    if (matches.length > 1) throw ambiguous(text, 'layer ID prefix', matches.map((l) => l.id));
    const layer = matches[0];
    if (!layer) throw new NotFoundError(`layer ${text}`, `not in ${storeList(this.stores)}`);
    return layer;
  }

  /** The image's layers, base first, following parent links from its top layer. */
  async imageLayers(image: StoredImage): Promise<StoredLayer[]> {
    const map = await this.#layerMap();
    const chain: StoredLayer[] = [];
    const seen = new Set<string>();
    let id = image.topLayer;
    let child = `image ${shortId(image.id)}`;
    while (id !== undefined) {
      if (seen.has(id) || chain.length >= MAX_DEPTH) {
        throw new InputError(`image ${shortId(image.id)}`, `layer chain loops or is deeper than ${MAX_DEPTH} at ${id}`);
      }
      seen.add(id);
      const layer = map.get(id);
      if (!layer) throw new NotFoundError(`layer ${id}`, `needed by ${child}, not in ${storeList(this.stores)}`);
      if (layer.incomplete) throw new InputError(`layer ${id}`, 'marked incomplete by containers-storage (being written, or left over by a crash)');
      chain.push(layer);
      child = `layer ${shortId(id)}`;
      id = layer.parent;
    }
    return chain.reverse();
  }

  /** The image's manifest as stored (`manifest` big data), or undefined. */
  async manifest(image: StoredImage): Promise<Buffer | undefined> {
    return image.store.bigData(image.id, 'manifest');
  }

  /** The image's config JSON (big data under `sha256:<image id>`), or undefined. */
  async config(image: StoredImage): Promise<Buffer | undefined> {
    return image.store.bigData(image.id, `sha256:${image.id}`);
  }
}

function storeList(stores: readonly Store[]): string {
  return stores.length === 1 ? `store ${stores[0]?.root ?? ''}` : `stores ${stores.map((s) => s.root).join(', ')}`;
}

function ambiguous(text: string, what: string, ids: string[]): UsageError {
  const listed = ids.slice(0, 5).map(shortId).join(', ');
  return new UsageError(`${what} "${text}" is ambiguous: it matches ${ids.length} (${listed}${ids.length > 5 ? ', …' : ''})`);
}

function one(text: string, what: string, images: StoredImage[], stores: readonly Store[]): StoredImage {
  const ids = [...new Set(images.map((i) => i.id))];
  if (ids.length > 1) throw ambiguous(text, what, ids);
  const image = images[0];
  if (!image) throw new NotFoundError(`image ${text}`, `not in ${storeList(stores)}`);
  return image;
}
