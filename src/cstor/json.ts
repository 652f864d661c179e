/**
 * Reading containers-storage's JSON files while podman may be writing them.
 * podman replaces them atomically (a temporary file renamed over the old
 * one), so an open descriptor always sees one whole version. cfskit takes
 * none of podman's locks: holding them could stall podman, and a reader
 * must never create lock files in someone else's store. A parse that fails
 * is retried when the file was replaced meanwhile; if it was not, the file
 * is damaged and the error names it.
 */
import { stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError, NotFoundError, openRegularFile, readBounded as readBoundedHandle } from '../../common/index.js';

/** No metadata file of a sane store comes near this. */
const MAX_JSON_BYTES = 512 << 20;
const ATTEMPTS = 5;

const sameFile = (a: Stats, b: Stats): boolean =>
  a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs;

/**
 * A regular file of at most `maxBytes`, read through one descriptor (so one
 * whole version of a file podman replaces), with the stat it was read under;
 * undefined when it does not exist.
 */
async function readBounded(path: string, maxBytes: number, what: string): Promise<{ bytes: Buffer; stats: Stats } | undefined> {
  // podman writes these files by rename: a symlink, FIFO or device in
  // their place is damage (and must not make the read hang or run away).
  let opened;
  try {
    opened = await openRegularFile(path, { what });
  } catch (err) {
    if (err instanceof NotFoundError && err.input === path) return undefined;
    throw err;
  }
  const { handle, stats } = opened;
  try {
    return { bytes: await readBoundedHandle(handle, path, stats.size, { what, maxBytes }), stats };
  } finally {
    await handle.close();
  }
}

/**
 * The parsed content of `path`, or undefined if it does not exist or is
 * empty.
 * Throws an InputError naming the file if it is not JSON.
 */
export async function readStoreJson(path: string): Promise<unknown> {
  for (let attempt = 1; ; attempt++) {
    const read = await readBounded(path, MAX_JSON_BYTES, 'containers-storage metadata');
    const text = read?.bytes.toString('utf8') ?? '';
    // containers-storage itself treats an empty file as an empty list.
    if (read === undefined || text.trim() === '') return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      let now: Stats | undefined;
      try {
        now = await stat(path);
      } catch {
        now = undefined;
      }
      const replaced = now === undefined || !sameFile(now, read.stats);
      if (!replaced || attempt === ATTEMPTS) {
        throw new InputError(path, `damaged: not valid JSON (${(err as Error).message})`, { cause: err });
      }
      await sleep(10 * attempt);
    }
  }
}

/** A small file's bytes (big data items), or undefined if it does not exist. */
export async function readSmallFile(path: string, maxBytes: number): Promise<Buffer | undefined> {
  return (await readBounded(path, maxBytes, 'an image\'s big data (manifest, config)'))?.bytes;
}
