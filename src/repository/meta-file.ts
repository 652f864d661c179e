/**
 * Reading and writing meta.json so that it appears complete or not at all:
 * with the addon as composefs-rs writes it (an O_TMPFILE, synced, fs-verity
 * enabled unless insecure, then linked); without it by the portable path
 * (a temporary name, fsync, rename, and the directory fsynced), which only
 * makes insecure repositories.
 */
import { randomBytes } from 'node:crypto';
import { close } from 'node:fs';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CfskitError, InputError, UnsupportedError, VerityUnsupportedError, errnoOf, isErrno, systemError, writeAll } from '../../common/index.js';
import { enableVerity, fsyncFd, hostAvailability, linkTmpfile, openTmpfile, reopenReadOnly } from '../../host-bindings/index.js';
import { fsyncDirectory } from './durability.js';
import { META_FILE, hashAlgOf, newMeta, parseMeta, serializeMeta, type Algorithm } from './meta.js';

const closeAsync = promisify(close);

export async function readMeta(path: string): Promise<{ algorithm: Algorithm } | undefined> {
  const metaPath = join(path, META_FILE);
  try {
    return parseMeta(await readFile(metaPath), metaPath).meta;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err instanceof CfskitError ? err : systemError(err, metaPath, 'read');
  }
}

/** Writes a new repository's meta.json; fs-verity on it unless `insecure`. */
export async function writeMeta(path: string, algorithm: Algorithm, insecure: boolean): Promise<void> {
  const data = serializeMeta(newMeta(algorithm));
  const available = hostAvailability();
  if (available.available) return writeMetaNatively(path, algorithm, data, insecure);
  if (!insecure) {
    throw new UnsupportedError(
      `${path}: a repository that requires fs-verity needs cfskit's native host bindings (${available.reason}); ` +
        'use --insecure (InitOptions.insecure) to create one without it',
      { input: path },
    );
  }
  return writeMetaPortably(path, algorithm, data);
}

/** Someone else initialised it meanwhile: fine if it agrees. */
async function agreeWithExisting(path: string, algorithm: Algorithm): Promise<void> {
  const other = await readMeta(path);
  if (other?.algorithm !== algorithm) throw new InputError(join(path, META_FILE), `was created concurrently with algorithm ${other?.algorithm}`);
}

async function writeMetaNatively(path: string, algorithm: Algorithm, data: Uint8Array, insecure: boolean): Promise<void> {
  const metaPath = join(path, META_FILE);
  const fd = await openTmpfile(path, 0o644);
  let readOnly: number | undefined;
  try {
    await writeAll(fd, data, 0);
    await fsyncFd(fd);
    readOnly = await reopenReadOnly(fd);
  } finally {
    await closeAsync(fd);
  }
  try {
    if (!insecure) {
      try {
        await enableVerity(readOnly, { hashAlg: hashAlgOf(algorithm), blockSize: 4096 }, metaPath);
      } catch (err) {
        if (err instanceof VerityUnsupportedError) {
          throw new UnsupportedError(`${path}: this file system or kernel has no fs-verity; use --insecure to create a repository without it`, {
            cause: err,
          });
        }
        throw err;
      }
    }
    try {
      await linkTmpfile(readOnly, metaPath);
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
      await agreeWithExisting(path, algorithm);
    }
  } finally {
    await closeAsync(readOnly);
  }
}

async function writeMetaPortably(path: string, algorithm: Algorithm, data: Uint8Array): Promise<void> {
  const metaPath = join(path, META_FILE);
  const tempPath = join(path, `.tmp-meta-${randomBytes(8).toString('hex')}`);
  try {
    const handle = await open(tempPath, 'wx', 0o644);
    try {
      await writeAll(handle, data, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
    // rename replaces; one that appeared meanwhile is checked below.
    await rename(tempPath, metaPath);
  } catch (err) {
    await unlink(tempPath).catch(() => undefined);
    throw systemError(err, metaPath, 'write');
  }
  await fsyncDirectory(path);
  await agreeWithExisting(path, algorithm);
}
