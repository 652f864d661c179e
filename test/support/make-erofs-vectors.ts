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
import { VARIANTS, idKey, type TreeVectors, type DumpFilesVector, type Variant } from './erofs-vectors.js';
import { materialize } from './fstree.js';

/** Paths given to `cfsctl dump-files` for the dump-files vectors. */
const DUMP_FILES: readonly { tree: string; paths: string[]; backingPathOnly: boolean }[] = [
  { tree: 'types', paths: ['/dir', '/file-external', '/dir/hl-inline', '/symlink'], backingPathOnly: false },
  { tree: 'types', paths: ['/file-external', '/dir/hl-inline', '/symlink', '/fifo', 'hl-external'], backingPathOnly: true },
  { tree: 'xattrs', paths: ['/dir', '/escapes'], backingPathOnly: false },
  { tree: 'types', paths: ['file-inline', 'dir/sub'], backingPathOnly: false },
  { tree: 'whiteouts', paths: ['/dir', '/00', '/7f', '/wh', '/other'], backingPathOnly: false },
  { tree: 'layout', paths: ['/a', '/z', '/long-link', '/oldest', '/one-ns-later', '/acl', '/ext-big'], backingPathOnly: false },
  { tree: 'modes', paths: ['/nsec', '/nsec-dir', '/nsec-link', '/before-1970'], backingPathOnly: false },
];

/** The cfsctl arguments (after --hash and --erofs-version) that print a variant's ID. */
const variantArgs: Record<Variant, string[]> = {
  plain: ['compute-id', '--no-propagate-usr-to-root'],
  container: ['compute-id'],
  'container-user': ['compute-id', '--xattrs', 'keep-user-xattrs'],
  bootable: ['compute-id', '--bootable'],
};

const dumpArgs: Record<Variant, string[]> = {
  plain: ['create-dumpfile', '--no-propagate-usr-to-root'],
  container: ['create-dumpfile'],
  'container-user': ['create-dumpfile', '--xattrs', 'keep-user-xattrs'],
  bootable: ['create-dumpfile', '--bootable'],
};

async function main(cfsctl: string, out: string, commit: string): Promise<void> {
  const trees: Record<string, TreeVectors> = {};
  const dumpFiles: DumpFilesVector[] = [];
  for (const spec of ALL_TREES) {
    const dir = await mkdtemp(join(tmpdir(), `vectors-${spec.name}-`));
    try {
      await materialize(dir, spec);
      const variants = VARIANTS.filter((v) => v === 'plain' || (spec.container && (v !== 'bootable' || spec.bootable)));
      const v: TreeVectors = { about: spec.about, variants, ids: {} };
      for (const variant of variants) {
        for (const alg of ['sha512', 'sha256'] as const) {
          for (const version of [0, 1, 2] as const) {
            const id = await check(cfsctl, ['--no-repo', '--hash', alg, '--erofs-version', String(version), ...variantArgs[variant], dir]);
            v.ids[idKey(variant, alg, version)] = id.trim();
          }
        }
        const suffix = variant === 'plain' ? '' : `.${variant}`;
        await writeFile(join(out, `${spec.name}${suffix}.dump`), await check(cfsctl, ['--no-repo', '--hash', 'sha512', ...dumpArgs[variant], dir]));
      }
      if (spec.bootable) {
        v.kargs = {
          v1: (await check(cfsctl, ['--no-repo', '--hash', 'sha512', 'compute-karg', dir])).trim(),
          v2: (await check(cfsctl, ['--no-repo', '--hash', 'sha512', '--erofs-version', '2', 'compute-karg', dir])).trim(),
          insecure: (await check(cfsctl, ['--no-repo', '--hash', 'sha256', '--insecure', 'compute-karg', dir])).trim(),
        };
      }
      trees[spec.name] = v;
      for (const [n, df] of DUMP_FILES.entries()) {
        if (df.tree !== spec.name) continue;
        for (const version of [1, 2] as const) {
          const repo = await mkdtemp(join(tmpdir(), 'vectors-repo-'));
          try {
            await check(cfsctl, ['--repo', repo, 'init', '--insecure', '--erofs-version', String(version)]);
            await check(cfsctl, ['--repo', repo, 'create-image', '--no-propagate-usr-to-root', dir, 'img']);
            const output = `dump-files-${n}-v${version}.txt`;
            const args = ['--repo', repo, 'dump-files', 'refs/img', ...df.paths, ...(df.backingPathOnly ? ['--backing-path-only'] : [])];
            await writeFile(join(out, output), await check(cfsctl, args));
            dumpFiles.push({ ...df, version, output });
          } finally {
            await rm(repo, { recursive: true, force: true });
          }
        }
      }
      process.stderr.write(`${spec.name}: ${v.ids[idKey('plain', 'sha512', 1)]?.slice(0, 16)}…\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  await writeFile(join(out, 'ids.json'), `${JSON.stringify({ cfsctl: commit, trees, dumpFiles }, null, 2)}\n`);
}

const [cfsctl, out, commit] = process.argv.slice(2);
if (!cfsctl || !out || !commit) {
  process.stderr.write('usage: make-erofs-vectors CFSCTL OUTDIR "cfsctl 0.9.0 (composefs-rs COMMIT)"\n');
  process.exit(2);
}
await main(cfsctl, out, commit);
