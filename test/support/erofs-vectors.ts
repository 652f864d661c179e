/** test/vectors/erofs, as the TypeScript tests read them. */
import { readFileSync } from 'node:fs';

/**
 * How a tree becomes an image: as found (`--no-propagate-usr-to-root`), as
 * a container root (cfsctl's default), the same keeping user.* xattrs, or
 * with the boot transformation too.
 */
export type Variant = 'plain' | 'container' | 'container-user' | 'bootable';
export const VARIANTS: readonly Variant[] = ['plain', 'container', 'container-user', 'bootable'];

export type Alg = 'sha512' | 'sha256';
export type Version = 0 | 1 | 2;

export const idKey = (variant: Variant, alg: Alg, version: Version): string => `${variant}.${alg}.v${version}`;

export interface TreeVectors {
  about: string;
  /** The variants cfsctl was asked for (bootable: trees with /boot and /sysroot). */
  variants: Variant[];
  /** `idKey(…)` → `cfsctl --hash ALG --erofs-version N compute-id …`. */
  ids: Record<string, string>;
  /** `cfsctl compute-karg` (V1, sha512), with `--erofs-version 2`, and `--insecure` (sha256). */
  kargs?: { v1: string; v2: string; insecure: string };
}

export interface DumpFilesVector {
  tree: string;
  paths: string[];
  backingPathOnly: boolean;
  /** The EROFS format of the image cfsctl read. */
  version: 1 | 2;
  /** The file holding cfsctl's stdout. */
  output: string;
}

const dir = new URL('../../../test/vectors/erofs/', import.meta.url);

export function vectorFile(name: string): Buffer {
  return readFileSync(new URL(name, dir));
}

/** The dumpfile of a variant. */
export const dumpName = (tree: string, variant: Variant): string => `${tree}${variant === 'plain' ? '' : `.${variant}`}.dump`;

export const VECTORS = JSON.parse(vectorFile('ids.json').toString('utf8')) as {
  cfsctl: string;
  trees: Record<string, TreeVectors>;
  dumpFiles: DumpFilesVector[];
};

export function treeId(tree: string, variant: Variant, alg: Alg, version: Version): string {
  const id = VECTORS.trees[tree]?.ids[idKey(variant, alg, version)];
  if (id === undefined) throw new Error(`no vector for ${tree} ${idKey(variant, alg, version)}`);
  return id;
}
