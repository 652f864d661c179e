/**
 * The arguments of the commands that read a directory tree as composefs
 * does (compute-id, create-dumpfile, create-image): one definition, so the
 * three cannot drift from cfsctl's spelling or from each other.
 */
import type { ArgDef } from 'citty';

export const TREE_PATH = {
  type: 'positional',
  required: true,
  valueHint: 'PATH',
  description: 'the directory (a container root unless --no-propagate-usr-to-root)',
} as const satisfies ArgDef;

export const PROPAGATE_USR_TO_ROOT = {
  type: 'boolean',
  default: true,
  description: 'give / the metadata of /usr, empty /run, keep only security.capability xattrs (--no-propagate-usr-to-root: as found)',
} as const satisfies ArgDef;

export const HASH_ALG = {
  type: 'enum' as const,
  // Mutable, as citty's EnumArgDef wants; typed so args.hashAlg is a HashAlg.
  options: ['sha256', 'sha512'] as ['sha256', 'sha512'],
  default: 'sha512' as const,
  description: 'fs-verity hash algorithm',
} satisfies ArgDef;
