/**
 * An archive file (oci-archive, docker-archive) read in place: its member
 * headers are parsed once by seeking over every member's content (the
 * wasm core's tar parser, told to skip), then any member is read by its
 * offset. Nothing is unpacked to disk. Names are taken as the archive
 * spells them less a leading `./` or `/`; a name with a `..` component
 * makes the whole archive refused, and symbolic and hard links between
 * members are followed (docker save writes those), never outside it.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { posix } from 'node:path';
import { InputError, NotFoundError, systemError } from '../../common/index.js';
import { TarSplitter, type TarEntryType } from '../tar/index.js';

const HEADER_READ = 64 << 10;
const CONTENT_READ = 1 << 20;
const MAX_LINK_DEPTH = 8;

export interface ArchiveMember {
  readonly name: string;
  readonly type: TarEntryType;
  /** Archive offset of the content. */
  readonly offset: number;
  readonly size: number;
  readonly linkTarget: string;
}

function memberName(raw: Buffer, input: string): string {
  const text = raw.toString('utf8');
  const parts = text.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new InputError(input, `member "${text}" has a ".." component: refusing the archive`);
  return parts.join('/');
}

export class TarArchive {
  readonly #members = new Map<string, ArchiveMember>();

  private constructor(
    private readonly handle: FileHandle,
    readonly path: string,
    readonly input: string,
    readonly fileSize: number,
  ) {}

  static async open(path: string, input: string): Promise<TarArchive> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw systemError(err, path);
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw new InputError(input, `${path} is not a regular file (archives are read by seeking)`);
      const archive = new TarArchive(handle, path, input, stat.size);
      await archive.#index();
      return archive;
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async #index(): Promise<void> {
    using splitter = new TarSplitter(this.input);
    const buffer = Buffer.alloc(HEADER_READ);
    let position = 0;
    for (;;) {
      const { bytesRead } = await this.handle.read(buffer, 0, HEADER_READ, position).catch((err: unknown) => Promise.reject(systemError(err, this.path)));
      if (bytesRead === 0) break;
      let ended = false;
      for (const event of splitter.push(buffer.subarray(0, bytesRead))) {
        if (event.kind === 'end') ended = true;
        if (event.kind !== 'entry') continue;
        const e = event.entry;
        if (e.contentOffset + e.size > this.fileSize) {
          throw new InputError(this.input, `the archive is truncated: member "${e.path.toString('utf8')}" needs ${e.contentOffset + e.size - this.fileSize} bytes past its end`);
        }
        const name = memberName(e.path, this.input);
        this.#members.set(name, { name, type: e.type, offset: e.contentOffset, size: e.size, linkTarget: e.linkPath.toString('utf8') });
      }
      position += bytesRead;
      const remaining = splitter.contentRemaining();
      if (remaining > 0) {
        splitter.skipContent(remaining);
        position += remaining;
      }
      if (ended) return;
    }
    splitter.finish();
  }

  names(): string[] {
    return [...this.#members.keys()];
  }

  /** The regular file `name` names, links followed; undefined if absent. */
  member(name: string): ArchiveMember | undefined {
    let current = this.#members.get(memberName(Buffer.from(name), this.input));
    for (let depth = 0; current && depth <= MAX_LINK_DEPTH; depth++) {
      if (current.type === 'file' || current.type === 'contiguous') return current;
      if (current.type === 'symlink') {
        const target = posix.normalize(posix.join(posix.dirname(current.name), current.linkTarget));
        if (target.startsWith('../') || target === '..' || posix.isAbsolute(current.linkTarget)) {
          throw new InputError(this.input, `member "${current.name}" links outside the archive (to ${current.linkTarget})`);
        }
        current = this.#members.get(target);
      } else if (current.type === 'hardlink') {
        current = this.#members.get(memberName(Buffer.from(current.linkTarget), this.input));
      } else {
        throw new InputError(this.input, `member "${current.name}" is a ${current.type}, not a file`);
      }
    }
    if (current) throw new InputError(this.input, `member "${name}": links nested more than ${MAX_LINK_DEPTH} deep`);
    return undefined;
  }

  require(name: string): ArchiveMember {
    const m = this.member(name);
    if (!m) throw new NotFoundError(this.input, `the archive has no member "${name}"`);
    return m;
  }

  /** A small member whole (an index, a manifest, a config). */
  async read(name: string, limit: number): Promise<Buffer> {
    const m = this.require(name);
    if (m.size > limit) throw new InputError(this.input, `member "${name}" is ${m.size} bytes, more than ${limit} allowed for it`);
    const buffer = Buffer.alloc(m.size);
    let done = 0;
    while (done < m.size) {
      const { bytesRead } = await this.handle.read(buffer, done, m.size - done, m.offset + done);
      if (bytesRead === 0) throw new InputError(this.input, `the archive is truncated inside member "${name}"`);
      done += bytesRead;
    }
    return buffer;
  }

  /** A member's content as chunks, read in place. */
  async *stream(member: ArchiveMember): AsyncGenerator<Uint8Array> {
    for (let done = 0; done < member.size; ) {
      const want = Math.min(CONTENT_READ, member.size - done);
      const buffer = Buffer.allocUnsafe(want);
      const { bytesRead } = await this.handle.read(buffer, 0, want, member.offset + done).catch((err: unknown) => Promise.reject(systemError(err, this.path)));
      if (bytesRead === 0) throw new InputError(this.input, `the archive is truncated inside member "${member.name}"`);
      done += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
