/**
 * Splitting a plain tar stream into the bytes to keep inline (headers,
 * PAX/GNU records, padding, end-of-archive) and member content, with each
 * member's header fields — what `oci import-layer` needs to store large
 * contents as objects and everything else inline, so that the exact tar can
 * be rebuilt. Parsing happens in the wasm core; content bytes are handed
 * back as views of the caller's own chunks, never copied.
 */
import { tar, withInput, type CoreTarEntry as CoreEntry, type CoreTarEvent as CoreEvent, type CoreTarSplitter as CoreSplitter } from '../core/index.js';
import { InputError } from '../../common/index.js';

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'directory' | 'fifo' | 'contiguous' | 'other';

/** A tar member, its PAX and GNU records applied. */
export interface TarEntry {
  /** 0-based position among members (extension headers are not members). */
  readonly index: number;
  readonly type: TarEntryType;
  /** The raw typeflag character ('0', '5', ...); '\0' is reported as '0' or '5'. */
  readonly typeflag: string;
  /** Path bytes as recorded (not necessarily UTF-8). */
  readonly path: Buffer;
  readonly linkPath: Buffer;
  /** Content bytes that follow in the archive (0 for links, directories, devices, FIFOs). */
  readonly size: number;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  /** Seconds since the epoch, and nanoseconds from PAX mtime. */
  readonly mtime: number;
  readonly mtimeNsec: number;
  readonly uname: string;
  readonly gname: string;
  readonly devMajor: number;
  readonly devMinor: number;
  /** From `SCHILY.xattr.*` PAX records, sorted by name. */
  readonly xattrs: readonly { readonly name: string; readonly value: Buffer }[];
  /** Archive offsets of the member's first header block and of its content. */
  readonly headerOffset: number;
  readonly contentOffset: number;
}

/**
 * In archive order. Concatenating `inline` bytes and `content` bytes gives
 * back the input exactly; a member's content follows its `entry` event
 * (possibly as several `content` events), then its padding (inline).
 */
export type TarEvent =
  | { readonly kind: 'inline'; readonly bytes: Uint8Array }
  | { readonly kind: 'entry'; readonly entry: TarEntry }
  | { readonly kind: 'content'; readonly bytes: Uint8Array }
  | { readonly kind: 'end' };

const TYPES: Record<string, TarEntryType> = {
  '0': 'file', '1': 'hardlink', '2': 'symlink', '3': 'char', '4': 'block', '5': 'directory', '6': 'fifo', '7': 'contiguous',
};

function safeNumber(input: string, what: string, value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new InputError(input, `${what} ${value} is beyond what this host can count exactly`);
  }
  return Number(value);
}

function toEntry(input: string, e: CoreEntry): TarEntry {
  const typeflag = String.fromCharCode(e.typeflag);
  const num = (what: string, v: bigint): number => safeNumber(input, `tar entry ${e.index} ${what}`, v);
  const bytes = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return {
    index: num('index', e.index),
    type: TYPES[typeflag] ?? 'other',
    typeflag,
    path: bytes(e.path),
    linkPath: bytes(e.linkPath),
    size: num('size', e.size),
    mode: e.mode,
    uid: num('uid', e.uid),
    gid: num('gid', e.gid),
    mtime: num('mtime', e.mtime),
    mtimeNsec: e.mtimeNsec,
    uname: Buffer.from(e.uname).toString('utf8'),
    gname: Buffer.from(e.gname).toString('utf8'),
    devMajor: e.devMajor,
    devMinor: e.devMinor,
    xattrs: e.xattrs.map((x) => ({ name: Buffer.from(x.name).toString('latin1'), value: bytes(x.value) })),
    headerOffset: num('header offset', e.headerOffset),
    contentOffset: num('content offset', e.contentOffset),
  };
}

/**
 * A splitter to push chunks into yourself; `input` names the archive in
 * errors. Call `close()` when done (or use `using`).
 */
export class TarSplitter implements Disposable {
  readonly #input: string;
  readonly #core: CoreSplitter;

  constructor(input: string) {
    this.#input = input;
    this.#core = tar.Splitter.create();
  }

  /** The events for `chunk`, the next bytes of the archive. */
  push(chunk: Uint8Array): TarEvent[] {
    const events: CoreEvent[] = withInput(this.#input, () => this.#core.push(chunk));
    return events.map((e): TarEvent => {
      switch (e.tag) {
        case 'inline':
          return { kind: 'inline', bytes: e.val };
        case 'entry':
          return { kind: 'entry', entry: toEntry(this.#input, e.val) };
        case 'content':
          return { kind: 'content', bytes: chunk.subarray(e.val.start, e.val.start + e.val.len) };
        case 'end':
          return { kind: 'end' };
      }
    });
  }

  /** End of input: throws an InputError if the archive was cut short. */
  finish(): void {
    withInput(this.#input, () => this.#core.finish());
  }

  /** Bytes of the current member's content still to come (0 outside content). */
  contentRemaining(): number {
    return Number(this.#core.contentRemaining());
  }

  /** Moves past `len` bytes of the current member's content without seeing them. */
  skipContent(len: number): void {
    withInput(this.#input, () => this.#core.skipContent(BigInt(len)));
  }

  close(): void {
    this.#core[Symbol.dispose]();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The events of a whole tar stream (e.g. a file's or stdin's chunks). */
export async function* splitTar(source: AsyncIterable<Uint8Array>, input = 'tar stream'): AsyncGenerator<TarEvent> {
  using splitter = new TarSplitter(input);
  for await (const chunk of source) {
    yield* splitter.push(chunk);
  }
  splitter.finish();
}
