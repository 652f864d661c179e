/** test/vectors/erofs, as the TypeScript tests read them. */
import { readFileSync } from 'node:fs';

export interface TreeIds {
  about: string;
  plain: { sha512: string; sha256: string };
  container?: { sha512: string; sha256: string };
}

export interface DumpFilesCase {
  tree: string;
  paths: string[];
  backingPathOnly: boolean;
  output: string;
}

const dir = new URL('../../../test/vectors/erofs/', import.meta.url);

export function vectorFile(name: string): Buffer {
  return readFileSync(new URL(name, dir));
}

export const VECTORS = JSON.parse(vectorFile('ids.json').toString('utf8')) as {
  trees: Record<string, TreeIds>;
  dumpFiles: DumpFilesCase[];
};
