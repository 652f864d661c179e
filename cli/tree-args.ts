/**
 * The arguments of the commands that read a directory tree as composefs
 * does (compute-id, compute-karg, create-dumpfile, create-image): one
 * definition, so they cannot drift from cfsctl's spelling or from each
 * other; and how those commands pick the digest algorithm and format.
 */
import { DEFAULT_EROFS_VERSION, DEFAULT_XATTR_MODE, XATTR_MODES, type ErofsVersion, type HashAlg, type XattrMode } from '../common/index.js';
import { Repository } from '../src/repository/index.js';
import type { ArgDef } from './command.js';
import { erofsVersionOption, type SharedArgs } from './repo.js';

export const TREE_PATH = {
  type: 'positional',
  required: true,
  valueHint: 'PATH',
  description: 'the directory (a container root unless --no-propagate-usr-to-root)',
} as const satisfies ArgDef;

export const PROPAGATE_USR_TO_ROOT = {
  type: 'boolean',
  default: true,
  description: 'give / the metadata of /usr, empty /run, filter xattrs by --xattrs (--no-propagate-usr-to-root: as found)',
} as const satisfies ArgDef;

export const XATTRS = {
  type: 'enum' as const,
  options: [...XATTR_MODES] as ['allowlist-only', 'keep-user-xattrs'],
  default: DEFAULT_XATTR_MODE,
  description: 'which xattrs a container root keeps: security.capability only, or user.* too',
} satisfies ArgDef;

export const BOOTABLE = {
  type: 'boolean',
  description: 'apply the boot transformation (empty /boot and /sysroot, SELinux labels from the tree\'s own policy)',
} as const satisfies ArgDef;

export const HASH_ALG = {
  type: 'enum' as const,
  // Mutable, as citty's EnumArgDef wants; typed so args.hashAlg is a HashAlg.
  options: ['sha256', 'sha512'] as ['sha256', 'sha512'],
  description: 'fs-verity hash algorithm (default: the repository\'s with --repo, else sha512)',
} satisfies ArgDef;

export const xattrMode = (value: string): XattrMode => value as XattrMode;

/** The shared options a tree command reads (see repositoryArgs). */
export interface TreeSharedArgs extends SharedArgs {
  readonly hash?: HashAlg | undefined;
  readonly noRepo?: boolean;
}

/**
 * The algorithm for a command that needs no repository: as given, else
 * cfsctl's global --hash, else that of the repository --repo names (as
 * cfsctl reads it from meta.json), else sha512.
 */
export async function treeHashAlg(given: HashAlg | undefined, args: TreeSharedArgs): Promise<HashAlg> {
  if (given) return given;
  if (args.hash) return args.hash;
  if (args.repo !== undefined && args.noRepo !== true) {
    const repo = await Repository.open(args.repo).catch(() => undefined);
    if (repo) {
      await repo.close();
      return repo.hashAlg;
    }
  }
  return 'sha512';
}

/** cfsctl's compute-id and compute-karg: --erofs-version, else 1 (never the repository's). */
export const treeErofsVersion = (args: SharedArgs): ErofsVersion => erofsVersionOption(args) ?? DEFAULT_EROFS_VERSION;
