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
import { META_FILE, effectiveFormats, hashAlgOf, parseMeta, sameMeta, serializeMeta, type RepoMeta } from './meta.js';

const closeAsync = promisify(close);

export async function readMeta(path: string): Promise<RepoMeta | undefined> {
  const metaPath = join(path, META_FILE);
  try {
    return parseMeta(await readFile(metaPath), metaPath).meta;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err instanceof CfskitError ? err : systemError(err, metaPath, 'read');
  }
}

/** cfsctl's words for `init` on a repository configured otherwise. */
export function differentConfiguration(path: string, existing: RepoMeta, wanted: RepoMeta): InputError {
  const describe = (m: RepoMeta): string => `algorithm: ${m.algorithm}, erofs_version: V${effectiveFormats(m).default}`;
  return new InputError(
    join(path, META_FILE),
    `repository already initialized with different configuration (${describe(existing)}); cannot re-initialize with (${describe(wanted)})`,
  );
}

/**
 * Writes a new repository's meta.json; fs-verity on it unless `insecure`.
 * False when another process created the same meta.json meanwhile.
 */
export async function writeMeta(path: string, meta: RepoMeta, insecure: boolean): Promise<boolean> {
  const data = serializeMeta(meta);
  const available = hostAvailability();
  if (available.available) return writeMetaNatively(path, meta, data, insecure);
  if (!insecure) {
    throw new UnsupportedError(
      `${path}: a repository that requires fs-verity needs cfskit's native host bindings (${available.reason}); ` +
        'use --insecure (InitOptions.insecure) to create one without it',
      { input: path },
    );
  }
  return writeMetaPortably(path, meta, data);
}

/** Someone else initialised it meanwhile: fine if it agrees. */
async function agreeWithExisting(path: string, meta: RepoMeta): Promise<void> {
  const other = await readMeta(path);
  if (!other || !sameMeta(other, meta)) throw differentConfiguration(path, other ?? meta, meta);
}

async function writeMetaNatively(path: string, meta: RepoMeta, data: Uint8Array, insecure: boolean): Promise<boolean> {
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
        await enableVerity(readOnly, { hashAlg: hashAlgOf(meta.algorithm), blockSize: 4096 }, metaPath);
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
      return true;
    } catch (err) {
      if (errnoOf(err) !== 'EEXIST') throw err;
      await agreeWithExisting(path, meta);
      return false;
    }
  } finally {
    await closeAsync(readOnly);
  }
}

async function writeMetaPortably(path: string, meta: RepoMeta, data: Uint8Array): Promise<boolean> {
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
  // The rename replaced any meta.json that appeared meanwhile: it must agree.
  await agreeWithExisting(path, meta);
  return true;
}
