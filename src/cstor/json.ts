/**
 * Reading containers-storage's JSON files while podman may be writing them.
 * podman replaces them atomically (a temporary file renamed over the old
 * one), so an open descriptor always sees one whole version. cfskit takes
 * none of podman's locks: holding them could stall podman, and a reader
 * must never create lock files in someone else's store. A parse that fails
 * is retried when the file was replaced meanwhile; if it was not, the file
 * is damaged and the error names it.
 */
import { open, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { InputError, systemError, isErrno } from '../../common/index.js';

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
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw systemError(err, path, 'open');
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new InputError(path, 'not a regular file');
    if (stats.size > maxBytes) throw new InputError(path, `${stats.size} bytes is too large for ${what}`);
    return { bytes: await handle.readFile(), stats };
  } catch (err) {
    throw systemError(err, path, 'read');
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
    const read = await readBounded(path, MAX_JSON_BYTES, 'store metadata');
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
  return (await readBounded(path, maxBytes, 'image metadata'))?.bytes;
}
