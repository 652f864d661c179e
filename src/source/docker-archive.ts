/**
 * `docker save` / `podman save` archives (`docker-archive:FILE[:REF]`):
 * manifest.json lists each image's config and layer members. There is no
 * manifest blob, so one is made as containers/image makes it (skopeo and
 * cfsctl see the same bytes): a Docker schema 2 manifest whose layers are
 * the uncompressed tars, named by their diff_ids. A compressed layer
 * member is served decompressed, as there. REF picks an image by one of
 * its RepoTags, or `@N` by position; without it the archive must hold one.
 */
import { createHash } from 'node:crypto';
import { InputError, NotFoundError } from '../../common/index.js';
import { normalizeName } from '../cstor/index.js';
import { decompressLayer } from '../decompress/index.js';
import { parseConfig } from '../oci/index.js';
import type { BlobDescriptor, ImageSource, ResolvedManifest } from './image-source.js';
import { DOCKER_CONFIG, DOCKER_LAYER, DOCKER_MANIFEST } from './media-types.js';
import { TarArchive, type ArchiveMember } from './tar-archive.js';

const MAX_DOCUMENT = 4 << 20;

interface ManifestItem {
  readonly config: string;
  readonly repoTags: readonly string[];
  readonly layers: readonly string[];
}

const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

function parseItems(bytes: Buffer, input: string): ManifestItem[] {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new InputError(input, `manifest.json is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!Array.isArray(doc)) throw new InputError(input, 'manifest.json is not a list of images');
  return doc.map((item, i) => {
    const o = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    if (typeof o.Config !== 'string') throw new InputError(input, `manifest.json[${i}] has no Config`);
    if (!Array.isArray(o.Layers) || !o.Layers.every((l) => typeof l === 'string')) throw new InputError(input, `manifest.json[${i}].Layers is not a list of names`);
    const tags = Array.isArray(o.RepoTags) ? o.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    return { config: o.Config, repoTags: tags, layers: o.Layers as string[] };
  });
}

/** The image `ref` names among `items`. */
function chooseItem(items: readonly ManifestItem[], ref: string | undefined, input: string): ManifestItem {
  if (ref === undefined) {
    if (items.length === 1 && items[0]) return items[0];
    const tags = items.flatMap((i) => i.repoTags);
    throw new InputError(input, `the archive holds ${items.length} images; name one with :REF or :@N (${tags.join(', ') || 'untagged'})`);
  }
  if (ref.startsWith('@')) {
    const n = Number(ref.slice(1));
    const item = Number.isSafeInteger(n) && n >= 0 ? items[n] : undefined;
    if (!item) throw new NotFoundError(input, `no image ${ref}: the archive holds ${items.length}`);
    return item;
  }
  const wanted = normalizeName(ref);
  const found = items.find((i) => i.repoTags.some((t) => { try { return normalizeName(t) === wanted; } catch { return false; } }));
  if (!found) throw new NotFoundError(input, `no image tagged ${ref} (tags: ${items.flatMap((i) => i.repoTags).join(', ') || 'none'})`);
  return found;
}

interface Layer {
  readonly member: ArchiveMember;
  readonly size: number;
  readonly compressed: boolean;
}

export class DockerArchiveSource implements ImageSource {
  #config: { bytes: Buffer; digest: string } | undefined;
  readonly #layers = new Map<string, Layer>();

  private constructor(
    readonly name: string,
    private readonly archive: TarArchive,
    private readonly ref: string | undefined,
  ) {}

  static async open(name: string, file: string, ref: string | undefined): Promise<DockerArchiveSource> {
    return new DockerArchiveSource(name, await TarArchive.open(file, name), ref);
  }

  /** A layer member's uncompressed size: its own, or (compressed) counted by decompressing it. */
  async #layer(path: string): Promise<Layer> {
    const member = this.archive.require(path);
    let compressed = false;
    let size = 0;
    for await (const chunk of decompressLayer(this.archive.stream(member), { input: `${this.name}: ${path}`, compressedSize: member.size, detected: (c) => (compressed = c !== 'none') })) {
      if (!compressed) return { member, size: member.size, compressed };
      size += chunk.length;
    }
    return { member, size: compressed ? size : member.size, compressed };
  }

  async resolve(): Promise<ResolvedManifest> {
    const items = parseItems(await this.archive.read('manifest.json', MAX_DOCUMENT), this.name);
    const item = chooseItem(items, this.ref, this.name);
    const configBytes = await this.archive.read(item.config, MAX_DOCUMENT);
    const config = parseConfig(configBytes, `${this.name}: ${item.config}`);
    if (config.diffIds.length !== item.layers.length) {
      throw new InputError(this.name, `manifest.json lists ${item.layers.length} layers but the config has ${config.diffIds.length} diff_ids`);
    }
    this.#config = { bytes: configBytes, digest: sha256(configBytes) };
    const layers: { mediaType: string; size: number; digest: string }[] = [];
    for (const [i, diffId] of config.diffIds.entries()) {
      const path = item.layers[i] ?? '';
      let layer = this.#layers.get(diffId);
      if (!layer) {
        layer = await this.#layer(path);
        this.#layers.set(diffId, layer);
      }
      layers.push({ mediaType: DOCKER_LAYER, size: layer.size, digest: diffId });
    }
    // Field for field, in order, what containers/image's json.Marshal writes.
    const manifest = {
      schemaVersion: 2,
      mediaType: DOCKER_MANIFEST,
      config: { mediaType: DOCKER_CONFIG, size: configBytes.length, digest: this.#config.digest },
      layers,
    };
    const bytes = Buffer.from(JSON.stringify(manifest));
    return { bytes, digest: sha256(bytes), mediaType: DOCKER_MANIFEST };
  }

  async *blob(d: BlobDescriptor): AsyncGenerator<Uint8Array> {
    if (this.#config && d.digest === this.#config.digest) {
      yield this.#config.bytes;
      return;
    }
    const layer = this.#layers.get(d.digest);
    if (!layer) throw new NotFoundError(this.name, `no blob ${d.digest} in the archive`);
    const raw = this.archive.stream(layer.member);
    if (!layer.compressed) {
      yield* raw;
      return;
    }
    yield* decompressLayer(raw, { input: `${this.name}: ${layer.member.name}`, compressedSize: layer.member.size });
  }

  close(): Promise<void> {
    return this.archive.close();
  }
}
