/**
 * Splitstreams in a repository: committing a finished stream under its
 * content identifier (`streams/<id>` → the object), refs to streams
 * (`streams/refs/<name>`, GC roots), and opening or reassembling a stream
 * by content id, by `refs/…` name or by its verified digest.
 */
import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { NotFoundError, type HashAlg } from '../../common/index.js';
import { openSplitstream, reassemble, SplitstreamWriter, type SplitstreamReader } from '../splitstream/index.js';
import { resolveLink, openObjectFile } from './links.js';
import { checkContentId, checkRefName } from './names.js';
import { isObjectId, objectRelPath, toObjectId, type ObjectId } from './object-id.js';
import { expectVerified, type ObjectStore } from './objects.js';
import { entriesBelow, replaceSymlink, removeRefLink } from './symlinks.js';

export interface StreamRef {
  /** The ref's name below streams/refs/. */
  readonly name: string;
  /** The content identifier it names (streams/<contentId>). */
  readonly contentId: string;
  readonly id: ObjectId;
}

export interface OpenedStream {
  readonly id: ObjectId;
  readonly reader: SplitstreamReader;
  close(): Promise<void>;
}

export class StreamStore {
  constructor(
    private readonly root: string,
    private readonly objects: ObjectStore,
    private readonly hashAlg: HashAlg,
    private readonly tmpDir: string,
    /** Makes written data durable before a stream becomes visible. */
    private readonly sync: () => Promise<void>,
  ) {}

  /** A writer whose temporary file lives in the repository (same file system). */
  writer(contentType: bigint): SplitstreamWriter {
    return new SplitstreamWriter({ hashAlg: this.hashAlg, contentType, tmpDir: this.tmpDir });
  }

  /** The object ID of the stream named `contentId`, if present. */
  async has(contentId: string): Promise<ObjectId | undefined> {
    checkContentId(contentId);
    try {
      return (await resolveLink(this.root, `streams/${contentId}`, this.hashAlg)).id;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /**
   * Makes a finished splitstream file an object and names it. Everything
   * it references was stored before, and all of it is synced to disk
   * before the name appears: after a crash the stream is either absent or
   * complete.
   */
  async commit(file: { path: string; size: number }, contentId: string, ref?: string): Promise<ObjectId> {
    checkContentId(contentId);
    if (ref !== undefined) checkRefName(ref);
    const { id } = await this.objects.adoptFile(file);
    await this.sync();
    await replaceSymlink(this.root, `streams/${contentId}`, objectRelPath(id));
    if (ref !== undefined) await this.setRef(ref, contentId);
    return id;
  }

  /**
   * Names an object already stored as the stream `contentId` (a stream
   * copied from another repository with everything it references), once
   * everything is synced.
   */
  async link(id: ObjectId, contentId: string): Promise<void> {
    checkContentId(contentId);
    if (!(await this.objects.has(id))) throw new NotFoundError(`object ${id}`, 'not in the repository');
    await this.sync();
    await replaceSymlink(this.root, `streams/${contentId}`, objectRelPath(id));
  }

  /** Points `streams/refs/<ref>` at an existing stream. */
  async setRef(ref: string, contentId: string): Promise<void> {
    checkRefName(ref);
    checkContentId(contentId);
    if ((await this.has(contentId)) === undefined) throw new NotFoundError(contentId, 'no such stream in the repository');
    await replaceSymlink(this.root, `streams/refs/${ref}`, `streams/${contentId}`);
  }

  async removeRef(ref: string): Promise<void> {
    checkRefName(ref);
    await removeRefLink(this.root, 'streams/refs', ref, 'ref');
  }

  /** Refs below streams/refs/<prefix>, each resolved to its stream. */
  async listRefs(prefix = ''): Promise<StreamRef[]> {
    const refs: StreamRef[] = [];
    // A prefix climbing out would list another tree; refs never hold "..".
    const base = prefix === '' ? 'streams/refs' : `streams/refs/${checkRefName(prefix.replace(/\/+$/, ''))}`;
    for (const entry of await entriesBelow(this.root, base)) {
      if (!entry.symlink) continue;
      const rel = entry.rel.slice('streams/refs/'.length);
      const resolved = await resolveLink(this.root, entry.rel, this.hashAlg);
      const streamLink = resolved.chain[1] ?? '';
      refs.push({ name: rel, contentId: streamLink.replace(/^streams\//, ''), id: resolved.id });
    }
    return refs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /**
   * The stream `name` names: a hex digest (then verified), `refs/<ref>`, or
   * a content identifier.
   */
  async resolve(name: string): Promise<{ id: ObjectId; verify: boolean }> {
    if (isObjectId(name, this.hashAlg)) return { id: name, verify: true };
    if (name.startsWith('refs/')) {
      checkRefName(name.slice('refs/'.length));
      return { id: (await resolveLink(this.root, `streams/${name}`, this.hashAlg)).id, verify: false };
    }
    checkContentId(name);
    return { id: (await resolveLink(this.root, `streams/${name}`, this.hashAlg)).id, verify: false };
  }

  /** Opens an object, checking its digest when asked to or when the repository is secure. */
  async openObject(id: ObjectId, verify: boolean): Promise<FileHandle> {
    const handle = await openObjectFile(this.root, id);
    if (verify || this.objects.secure) {
      try {
        expectVerified(await this.objects.verify(id, handle.fd), id);
      } catch (err) {
        await handle.close();
        throw err;
      }
    }
    return handle;
  }

  async open(name: string, expect?: { contentType?: bigint }): Promise<OpenedStream> {
    const { id, verify } = await this.resolve(name);
    const handle = await this.openObject(id, verify);
    try {
      const reader = await openSplitstream(handle, name, { ...expect, hashAlg: this.hashAlg });
      return { id, reader, close: () => handle.close() };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Writes the original bytes of stream `name` to `out`; returns how many. */
  async cat(name: string, out: Writable, expect?: { contentType?: bigint }): Promise<bigint> {
    const stream = await this.open(name, expect);
    try {
      return await reassemble(stream.reader, (objectId) => this.openObject(toObjectId(objectId), false), out);
    } finally {
      await stream.close();
    }
  }
}
