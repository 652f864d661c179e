/**
 * OCI image layouts (image-spec `image-layout.md`), as a directory
 * (`oci:DIR[:TAG]`) or a tar of one (`oci-archive:FILE[:TAG]`): the
 * `oci-layout` marker, `index.json`, blobs under `blobs/<alg>/<hex>`.
 * A tag picks the index.json entry whose `org.opencontainers.image.ref.name`
 * is that tag; without one, the layout's only entry (or, when its entries
 * carry no names, the one for the platform). Entries that are indexes
 * themselves are resolved for the platform.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputError, NotFoundError, systemError } from '../../common/index.js';
import type { BlobDescriptor, ImageSource, ResolvedManifest } from './image-source.js';
import type { Platform } from './platform.js';
import { choosePlatform, classifyDocument, REF_NAME, resolveToManifest, type IndexEntry } from './select.js';
import { TarArchive } from './tar-archive.js';

const MAX_DOCUMENT = 4 << 20;
const BLOB_PATH = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-f0-9]{32,128})$/;

/** How a layout's files are reached: a directory or an archive's members. */
interface LayoutFiles {
  exists(path: string): Promise<boolean>;
  read(path: string, limit: number): Promise<Buffer>;
  stream(path: string, size: number): AsyncIterable<Uint8Array>;
  close(): Promise<void>;
}

class DirectoryFiles implements LayoutFiles {
  constructor(
    private readonly dir: string,
    private readonly input: string,
  ) {}

  async exists(path: string): Promise<boolean> {
    try {
      return (await stat(join(this.dir, path))).isFile();
    } catch {
      return false;
    }
  }

  async read(path: string, limit: number): Promise<Buffer> {
    const full = join(this.dir, path);
    let handle;
    try {
      handle = await open(full, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(this.input, `${path} is missing`);
      throw systemError(err, full);
    }
    try {
      const size = (await handle.stat()).size;
      if (size > limit) throw new InputError(this.input, `${path} is ${size} bytes, more than ${limit} allowed for it`);
      return await handle.readFile();
    } finally {
      await handle.close();
    }
  }

  async *stream(path: string, size: number): AsyncGenerator<Uint8Array> {
    const full = join(this.dir, path);
    // One byte past the size is enough to tell a blob that is too long.
    const stream = createReadStream(full, { highWaterMark: 1 << 20, end: size });
    try {
      yield* stream as AsyncIterable<Buffer>;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(this.input, `${path} is missing`);
      throw systemError(err, full);
    } finally {
      stream.destroy();
    }
  }

  async close(): Promise<void> {
    // Nothing held open between reads.
  }
}

class ArchiveFiles implements LayoutFiles {
  constructor(private readonly archive: TarArchive) {}

  async exists(path: string): Promise<boolean> {
    return this.archive.member(path) !== undefined;
  }

  read(path: string, limit: number): Promise<Buffer> {
    return this.archive.read(path, limit);
  }

  stream(path: string): AsyncIterable<Uint8Array> {
    return this.archive.stream(this.archive.require(path));
  }

  close(): Promise<void> {
    return this.archive.close();
  }
}

/** `blobs/<alg>/<hex>` for a digest; anything else is refused (no paths from input). */
export function blobPath(digest: string, input: string): string {
  const m = BLOB_PATH.exec(digest);
  if (!m) throw new InputError(input, `"${digest}" is not a digest a layout can hold`);
  return `blobs/${m[1]}/${m[2]}`;
}

export class OciLayoutSource implements ImageSource {
  private constructor(
    readonly name: string,
    private readonly files: LayoutFiles,
    private readonly tag: string | undefined,
  ) {}

  static async openDirectory(name: string, dir: string, tag: string | undefined): Promise<OciLayoutSource> {
    try {
      if (!(await stat(dir)).isDirectory()) throw new InputError(name, `${dir} is not a directory`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(name, `${dir} does not exist`);
      throw systemError(err, dir);
    }
    return OciLayoutSource.#checked(new OciLayoutSource(name, new DirectoryFiles(dir, name), tag));
  }

  static async openArchive(name: string, file: string, tag: string | undefined): Promise<OciLayoutSource> {
    const archive = await TarArchive.open(file, name);
    return OciLayoutSource.#checked(new OciLayoutSource(name, new ArchiveFiles(archive), tag));
  }

  static async #checked(source: OciLayoutSource): Promise<OciLayoutSource> {
    try {
      const marker = await source.files.read('oci-layout', 4096).catch((err: unknown) => {
        if (err instanceof NotFoundError) throw new InputError(source.name, 'not an OCI image layout (no oci-layout file)');
        throw err;
      });
      let version: unknown;
      try {
        version = (JSON.parse(marker.toString('utf8')) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
      } catch {
        throw new InputError(source.name, 'its oci-layout file is not JSON');
      }
      if (version !== '1.0.0') throw new InputError(source.name, `imageLayoutVersion ${JSON.stringify(version)} is not 1.0.0`);
      return source;
    } catch (err) {
      await source.close();
      throw err;
    }
  }

  /** A blob read whole and checked (index and manifest documents). */
  async #document(d: BlobDescriptor): Promise<Buffer> {
    const path = blobPath(d.digest, this.name);
    if (!(await this.files.exists(path))) throw new NotFoundError(this.name, `index.json or an index names ${d.digest}, but ${path} is missing`);
    const bytes = await this.files.read(path, MAX_DOCUMENT);
    const [alg, hex] = d.digest.split(':') as [string, string];
    const actual = createHash(alg).update(bytes).digest('hex');
    if (actual !== hex) throw new InputError(this.name, `${path} has digest ${alg}:${actual}, not ${d.digest}`);
    if (bytes.length !== d.size) throw new InputError(this.name, `${path} is ${bytes.length} bytes, not the ${d.size} its descriptor says`);
    return bytes;
  }

  #pick(entries: readonly IndexEntry[], platform: Platform): IndexEntry | 'platform' {
    if (this.tag !== undefined) {
      const tagged = entries.filter((e) => e.annotations[REF_NAME] === this.tag);
      if (tagged.length === 1 && tagged[0]) return tagged[0];
      if (tagged.length > 1) return choosePlatform(tagged, platform, `${this.name}: tag ${this.tag}`);
      const tags = entries.map((e) => e.annotations[REF_NAME]).filter((t): t is string => t !== undefined);
      throw new NotFoundError(this.name, `no image tagged "${this.tag}" in index.json (tags: ${tags.join(', ') || 'none'})`);
    }
    if (entries.length === 1 && entries[0]) return entries[0];
    if (entries.length === 0) throw new NotFoundError(this.name, 'index.json lists no images');
    if (entries.every((e) => e.annotations[REF_NAME] === undefined)) return 'platform';
    const tags = entries.map((e) => e.annotations[REF_NAME] ?? e.digest);
    throw new InputError(this.name, `index.json holds ${entries.length} images; name one with :TAG (${tags.join(', ')})`);
  }

  async resolve(platform: Platform): Promise<ResolvedManifest> {
    const indexBytes = await this.files.read('index.json', MAX_DOCUMENT).catch((err: unknown) => {
      if (err instanceof NotFoundError) throw new InputError(this.name, 'not an OCI image layout (no index.json)');
      throw err;
    });
    const index = classifyDocument(indexBytes, undefined, `${this.name}: index.json`);
    if (index.kind !== 'index') throw new InputError(this.name, 'index.json is not an image index');
    const picked = this.#pick(index.entries, platform);
    const read = (d: BlobDescriptor): Promise<Buffer> => this.#document(d);
    if (picked === 'platform') {
      const top = { bytes: indexBytes, digest: 'index.json', mediaType: undefined };
      return resolveToManifest(top, platform, read, this.name);
    }
    const top = { bytes: await read(picked), digest: picked.digest, mediaType: picked.mediaType };
    return resolveToManifest(top, platform, read, this.name);
  }

  async *blob(d: BlobDescriptor): AsyncGenerator<Uint8Array> {
    const path = blobPath(d.digest, this.name);
    if (!(await this.files.exists(path))) throw new NotFoundError(this.name, `blob ${d.digest} (${path}) is missing`);
    yield* this.files.stream(path, d.size);
  }

  close(): Promise<void> {
    return this.files.close();
  }
}
