/**
 * Regenerates test/vectors/erofs from a cfsctl binary the caller built
 * (as root; see test/vectors/erofs/README.md):
 *   node dist/test/support/make-erofs-vectors.js /path/to/cfsctl test/vectors/erofs
 * Every tree of erofs-trees.ts is materialized in a temporary directory and
 * given to cfsctl; its outputs are written as they are.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { check } from './cli.js';
import { ALL_TREES } from './erofs-trees.js';
import { materialize } from './fstree.js';

export interface TreeVectors {
  about: string;
  /** `cfsctl --hash ALG compute-id --no-propagate-usr-to-root DIR` */
  plain: { sha512: string; sha256: string };
  /** `cfsctl --hash ALG compute-id DIR` (container trees only) */
  container?: { sha512: string; sha256: string };
}

export interface DumpFilesVector {
  tree: string;
  paths: string[];
  backingPathOnly: boolean;
  /** The file holding cfsctl's stdout. */
  output: string;
}

/** Paths given to `cfsctl dump-files` for the dump-files vectors. */
export const DUMP_FILES: readonly { tree: string; paths: string[]; backingPathOnly: boolean }[] = [
  { tree: 'types', paths: ['/dir', '/file-external', '/dir/hl-inline', '/symlink'], backingPathOnly: false },
  { tree: 'types', paths: ['/file-external', '/dir/hl-inline', '/symlink', '/fifo', 'hl-external'], backingPathOnly: true },
  { tree: 'xattrs', paths: ['/dir', '/escapes'], backingPathOnly: false },
  { tree: 'types', paths: ['file-inline', 'dir/sub'], backingPathOnly: false },
];

async function main(cfsctl: string, out: string): Promise<void> {
  const ids: Record<string, TreeVectors> = {};
  const dumpFiles: DumpFilesVector[] = [];
  for (const spec of ALL_TREES) {
    const dir = await mkdtemp(join(tmpdir(), `vectors-${spec.name}-`));
    try {
      await materialize(dir, spec);
      const id = async (alg: string, plain: boolean): Promise<string> =>
        (await check(cfsctl, ['--no-repo', '--hash', alg, 'compute-id', ...(plain ? ['--no-propagate-usr-to-root'] : []), dir])).trim();
      const v: TreeVectors = { about: spec.about, plain: { sha512: await id('sha512', true), sha256: await id('sha256', true) } };
      const dump = await check(cfsctl, ['--no-repo', '--hash', 'sha512', 'create-dumpfile', '--no-propagate-usr-to-root', dir]);
      await writeFile(join(out, `${spec.name}.dump`), dump);
      if (spec.container) {
        v.container = { sha512: await id('sha512', false), sha256: await id('sha256', false) };
        const cdump = await check(cfsctl, ['--no-repo', '--hash', 'sha512', 'create-dumpfile', dir]);
        await writeFile(join(out, `${spec.name}.container.dump`), cdump);
      }
      ids[spec.name] = v;
      for (const [n, df] of DUMP_FILES.entries()) {
        if (df.tree !== spec.name) continue;
        const repo = await mkdtemp(join(tmpdir(), 'vectors-repo-'));
        try {
          await check(cfsctl, ['--repo', repo, '--insecure', 'init', '--insecure']);
          await check(cfsctl, ['--repo', repo, '--insecure', 'create-image', '--no-propagate-usr-to-root', dir, 'img']);
          const output = `dump-files-${n}.txt`;
          const args = ['--repo', repo, '--insecure', 'dump-files', 'refs/img', ...df.paths, ...(df.backingPathOnly ? ['--backing-path-only'] : [])];
          await writeFile(join(out, output), await check(cfsctl, args));
          dumpFiles.push({ ...df, output });
        } finally {
          await rm(repo, { recursive: true, force: true });
        }
      }
      process.stderr.write(`${spec.name}: ${v.plain.sha512.slice(0, 16)}…\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  await writeFile(join(out, 'ids.json'), `${JSON.stringify({ trees: ids, dumpFiles }, null, 2)}\n`);
}

const [cfsctl, out] = process.argv.slice(2);
if (!cfsctl || !out) {
  process.stderr.write('usage: make-erofs-vectors CFSCTL OUTDIR\n');
  process.exit(2);
}
await main(cfsctl, out);
