/**
 * bench/objects: store a 20 000-file tree shaped like an OS image (many
 * small files, a few large) into a repository on a btrfs loop device, by
 * reflink, by hardlink and by copy, against `cp -a --reflink=always` and
 * `cp -a` of the same tree, all in one run. Needs root.
 *   node dist/bench/objects.js [FILES]
 * The repository is insecure (no fs-verity here), so every object's digest
 * is computed by cfskit: that read of the data is the cost cp does not pay.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImportContext, Repository, type StoreStrategy } from '../src/repository/index.js';
import { withLoopFs } from '../test/support/loopfs.js';
import { pattern } from '../test/support/pattern.js';

const FILES = Number(process.argv[2] ?? 20000);

/** Sizes like /usr of a distribution: mostly small, a long tail. */
function sizeOf(i: number): number {
  const r = (i * 2654435761) % 1000;
  if (r < 600) return 200 + ((i * 37) % 3800);
  if (r < 900) return 4096 + ((i * 131) % 60000);
  if (r < 995) return 65536 + ((i * 7919) % 400000);
  return (1 << 20) + ((i * 104729) % (8 << 20));
}

async function makeTree(root: string): Promise<{ files: { path: string; size: number }[]; bytes: number }> {
  const files: { path: string; size: number }[] = [];
  let bytes = 0;
  for (let i = 0; i < FILES; i++) {
    const dir = join(root, `d${i % 200}`);
    if (i < 200) await mkdir(dir, { recursive: true });
    const size = sizeOf(i);
    const path = join(dir, `f${i}`);
    await writeFile(path, pattern(size, i));
    files.push({ path, size });
    bytes += size;
  }
  return { files, bytes };
}

function time(label: string, run: () => void): { label: string; seconds: number } {
  execFileSync('sync');
  const started = process.hrtime.bigint();
  run();
  return { label, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

async function timeAsync(label: string, run: () => Promise<void>): Promise<{ label: string; seconds: number }> {
  execFileSync('sync');
  const started = process.hrtime.bigint();
  await run();
  return { label, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

async function store(repoPath: string, files: { path: string; size: number }[], strategies: StoreStrategy[]): Promise<Record<string, number>> {
  const repo = await Repository.init(repoPath, { insecure: true });
  const context = new ImportContext();
  const methods: Record<string, number> = {};
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let f = files[next++]; f; f = files[next++]) {
      const stored = await repo.objects.ensureObjectFromFile(f.path, f.size, { context, strategies });
      methods[stored.method] = (methods[stored.method] ?? 0) + 1;
    }
  };
  try {
    await Promise.all(Array.from({ length: 8 }, worker));
    await repo.sync();
  } finally {
    await repo.close();
  }
  return methods;
}

await withLoopFs('btrfs', { sizeMiB: 8192 }, async (mnt) => {
  const src = join(mnt, 'tree');
  const { files, bytes } = await makeTree(src);
  console.log(`${files.length} files, ${(bytes / 2 ** 20).toFixed(0)} MiB, btrfs loop device; 2 cores\n`);
  const rows: { label: string; seconds: number; note?: string }[] = [];
  rows.push(time('cp -a --reflink=always', () => execFileSync('cp', ['-a', '--reflink=always', src, join(mnt, 'cp-reflink')])));
  rows.push(time('cp -a (copy)', () => execFileSync('cp', ['-a', '--reflink=never', src, join(mnt, 'cp-copy')])));
  for (const strategies of [['reflink'], ['hardlink'], ['copy']] as StoreStrategy[][]) {
    const repoPath = join(mnt, `repo-${strategies[0]}`);
    let methods: Record<string, number> = {};
    const row = await timeAsync(`cfskit objects: ${strategies[0]}`, async () => {
      methods = await store(repoPath, files, strategies);
    });
    rows.push({ ...row, note: JSON.stringify(methods) });
    await rm(repoPath, { recursive: true, force: true });
  }
  const base = rows[0]?.seconds ?? 1;
  const copy = rows[1]?.seconds ?? 1;
  for (const r of rows) {
    console.log(
      `${r.label.padEnd(26)} ${r.seconds.toFixed(2).padStart(7)} s  ${(r.seconds / base).toFixed(2).padStart(6)}× cp --reflink  ` +
        `${(r.seconds / copy).toFixed(2).padStart(5)}× cp -a  ${r.note ?? ''}`,
    );
  }
  console.log(`\n(digest floor: cfskit computes ${(bytes / 2 ** 20).toFixed(0)} MiB of fs-verity digests in each cfskit row)`);
  void readdir;
});
