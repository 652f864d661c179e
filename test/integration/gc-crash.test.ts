/**
 * Garbage collection against other processes and against being killed:
 * - imports (child processes holding the repository open, as pulls do)
 *   and GCs started at random moments, over many rounds in which earlier
 *   images are untagged so that a base layer an import is reusing is
 *   garbage at that very moment: every import succeeds and every
 *   completed one is whole;
 * - `kill -9` of a GC at points spread over a measured run: fsck is clean
 *   after each (links go before their objects), every tagged image is
 *   whole and its composefs image mounts, and running GC again converges.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { digestBytes } from '../../src/fsverity/digest.js';
import { gc } from '../../src/gc/index.js';
import { fsck } from '../../src/repository/fsck.js';
import { Repository } from '../../src/repository/index.js';
import { CFSKIT, run } from '../support/cli.js';
import { composefsPrereqs, withComposefsMount } from '../support/composefs.js';
import { addComposefsImage, concurrencyLayers, describeModelImage, importModelImage, makeLayer, taggedNeeds, type ModelImage } from '../support/gc-model.js';
import { pattern } from '../support/pattern.js';
import { seededRandom } from '../support/random.js';
import { withTempDir } from '../support/tmp.js';

const IMPORTER = fileURLToPath(new URL('../support/gc-importer.js', import.meta.url));

async function listObjects(repoPath: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const d of await readdir(join(repoPath, 'objects'))) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue;
    for (const name of await readdir(join(repoPath, 'objects', d))) ids.add(`${d}${name}`);
  }
  return ids;
}

interface Child {
  readonly exited: Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  kill(): void;
}

function start(args: readonly string[], delayMs = 0): Promise<Child> {
  return new Promise((resolve) => {
    setTimeout(() => {
      const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const exited = new Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((done) =>
        child.on('close', (status, signal) => done({ status, signal, stdout, stderr })),
      );
      resolve({ exited, kill: () => child.kill('SIGKILL') });
    }, delayMs);
  });
}

async function assertWhole(repo: Repository, images: readonly ModelImage[], repoPath: string, what: string): Promise<void> {
  const present = await listObjects(repoPath);
  for (const image of images) {
    for (const id of await taggedNeeds(repo, image)) assert.ok(present.has(id), `${what}: ${image.label} lost ${id}`);
  }
}

test('imports and GCs at random moments: every import succeeds, every completed one is whole', () =>
  withTempDir('gc-concurrent', async (dir) => {
    const repoPath = join(dir, 'repo');
    await (await Repository.init(repoPath, { insecure: true })).close();
    const rand = seededRandom(11);
    const completed: ModelImage[] = [];
    let collected = 0;
    const ROUNDS = 5;
    for (let round = 0; round < ROUNDS; round++) {
      // Untag the previous round's images: their base is garbage while this
      // round's imports, on the same base every other round, reuse it.
      const repo = await Repository.open(repoPath, { write: true });
      for (const image of completed.splice(0)) await repo.streams.removeRef(`oci/localhost%2F${image.label}:1`);
      await repo.close();
      const base = round % 2;
      const labels = [0, 1].map((k) => `r${round}i${k}`);
      const importers = await Promise.all(labels.map((label, k) => start([IMPORTER, repoPath, label, String(base), String(round * 2 + k)], Math.floor(rand() * 300))));
      const gcs = await Promise.all([0, 1].map(() => start([CFSKIT, '--repo', repoPath, 'gc'], Math.floor(rand() * 600))));
      for (const [k, child] of importers.entries()) {
        const r = await child.exited;
        assert.is(r.status, 0, `round ${round} import ${k}: ${r.stderr}`);
        assert.is(r.stdout, 'done\n');
      }
      for (const child of gcs) {
        const r = await child.exited;
        assert.is(r.status, 0, `round ${round} gc: ${r.stderr}`);
        collected += Number(/Objects: (\d+) removed/.exec(r.stdout)?.[1] ?? 0);
      }
      for (const [k, label] of labels.entries()) completed.push(describeModelImage(label, concurrencyLayers(base, round * 2 + k), `localhost/${label}:1`));
      const check = await Repository.open(repoPath);
      try {
        await assertWhole(check, completed, repoPath, `round ${round}`);
      } finally {
        await check.close();
      }
    }
    assert.ok(collected > 0, 'the GCs collected the untagged images');
    const repo = await Repository.open(repoPath, { write: true });
    try {
      assert.equal((await fsck(repo)).problems, []);
    } finally {
      await repo.close();
    }
  }));

/** Loose objects written as any writer of the format leaves them, fast (the store's own path syncs each). */
async function writeLooseObjects(repoPath: string, count: number): Promise<void> {
  for (let d = 0; d < 256; d++) await mkdir(join(repoPath, 'objects', d.toString(16).padStart(2, '0')), { recursive: true });
  const write = async (i: number): Promise<void> => {
    const data = pattern(100 + (i % 50), i);
    const id = Buffer.from(digestBytes(data, { hashAlg: 'sha512' })).toString('hex');
    await writeFile(join(repoPath, 'objects', id.slice(0, 2), id.slice(2)), data);
  };
  for (let i = 0; i < count; i += 64) await Promise.all(Array.from({ length: Math.min(64, count - i) }, (_, k) => write(i + k)));
}

const canMount = composefsPrereqs().every((p) => p === undefined);

test('kill -9 at points spread over a GC: fsck clean, tagged images whole and mountable, a re-run converges', () =>
  withTempDir('gc-kill', async (dir) => {
    const pristine = join(dir, 'pristine');
    const repo = await Repository.init(pristine, { insecure: true });
    const kept: ModelImage[] = [];
    try {
      const base = makeLayer('base', 20, 1, true);
      for (let i = 0; i < 3; i++) {
        const image = await importModelImage(repo, `kept${i}`, [base, makeLayer(`k${i}`, 10, 10 + i)], `localhost/kept${i}:1`);
        await addComposefsImage(repo, image, false);
        kept.push(image);
      }
      for (let i = 0; i < 4; i++) {
        const image = await importModelImage(repo, `gone${i}`, [base, makeLayer(`g${i}`, 30, 20 + i)], undefined);
        await addComposefsImage(repo, image, i % 2 === 0);
      }
    } finally {
      await repo.close();
    }
    await writeLooseObjects(pristine, 5000);
    const total = (await listObjects(pristine)).size;

    // Copies share the objects' inodes (cp -al): GC unlinks names, never content.
    let copies = 0;
    const copy = async (): Promise<string> => {
      const path = join(dir, `copy${copies++}`);
      const r = await run('cp', ['-al', pristine, path]);
      assert.is(r.status, 0, r.stderr);
      return path;
    };
    // The measured run: its length, and when removals start and end (seen
    // as the directories' mtimes change). Two kills land at fixed points of
    // the whole run; four are anchored on the sweep starting in their own
    // run, so a machine busier than during the measured run still kills
    // mid-sweep instead of before or after it.
    const watchedIn = (repo: string): string[] =>
      ['streams', 'images', ...Array.from({ length: 16 }, (_, i) => `objects/0${i.toString(16)}`)].map((d) => join(repo, d));
    const mtimesOf = (dirs: readonly string[]): number[] => dirs.map((d) => statSync(d).mtimeMs);
    /** Calls `onChange(ms since start)` each time a watched directory changes. */
    const watch = (repo: string, onChange: (at: number) => void): (() => void) => {
      const dirs = watchedIn(repo);
      let previous = mtimesOf(dirs);
      const t0 = Date.now();
      const timer = setInterval(() => {
        const now = mtimesOf(dirs);
        if (now.some((m, i) => m !== previous[i])) onChange(Date.now() - t0);
        previous = now;
      }, 1);
      return () => clearInterval(timer);
    };
    const measured = await copy();
    let firstChange: number | undefined;
    let lastChange: number | undefined;
    const t0 = Date.now();
    const unwatch = watch(measured, (at) => {
      firstChange ??= at;
      lastChange = at;
    });
    const full = await start([CFSKIT, '--repo', measured, 'gc']);
    const fullRun = await full.exited;
    unwatch();
    const duration = Date.now() - t0;
    assert.is(fullRun.status, 0, fullRun.stderr);
    const live = await listObjects(measured);
    const sweepStart = firstChange ?? duration / 2;
    const sweepLength = Math.max((lastChange ?? duration) - sweepStart, 1);
    type KillPoint = { readonly afterStart: number } | { readonly afterSweepStarts: number };
    const points: KillPoint[] = [
      ...[1, 2].map((k) => ({ afterStart: Math.round((duration * k) / 3) })),
      ...[0, 1, 2, 3].map((k) => ({ afterSweepStarts: Math.round((sweepLength * (k + 0.5)) / 4) })),
    ];
    const describe = (p: KillPoint): string =>
      'afterStart' in p ? `${p.afterStart} ms into the run` : `${p.afterSweepStarts} ms into the sweep`;

    let interrupted = 0;
    for (const [k, point] of points.entries()) {
      const at = describe(point);
      const path = await copy();
      const child = await start([CFSKIT, '--repo', path, 'gc']);
      if ('afterStart' in point) {
        await new Promise((r) => setTimeout(r, point.afterStart));
        child.kill();
      } else {
        let fired = false;
        const unwatchKill = watch(path, () => {
          if (fired) return;
          fired = true;
          setTimeout(() => child.kill(), point.afterSweepStarts);
        });
        void child.exited.finally(unwatchKill);
      }
      const r = await child.exited;
      const left = (await listObjects(path)).size;
      if (r.signal === 'SIGKILL' && left > live.size && left < total) interrupted++;
      const opened = await Repository.open(path, { write: true });
      try {
        assert.equal((await fsck(opened)).problems, [], `killed ${at}: fsck`);
        await assertWhole(opened, kept, path, `killed ${at}`);
        if (canMount && k === 3) {
          const image = kept[0];
          await withComposefsMount(opened, image?.imageId ?? '', async (mnt) => {
            const want = [...(image?.layers[1]?.files ?? new Map<string, Buffer>())][0];
            assert.ok(want !== undefined);
            assert.ok((await readFile(join(mnt, want[0]))).equals(want[1]), 'a file reads back through the mount');
          });
        }
        await gc(opened);
        assert.equal([...(await listObjects(path))].sort(), [...live].sort(), `killed ${at}: the re-run reached the same end`);
        const third = await gc(opened);
        assert.equal([third.objectsRemoved, third.imagesPruned, third.streamsPruned, third.tempFilesRemoved], [0, 0, 0, 0], 'converged');
      } finally {
        await opened.close();
      }
    }
    assert.ok(interrupted >= 2, `only ${interrupted} of ${points.length} kills landed mid-sweep (the measured GC took ${duration} ms, removing for ${sweepLength} ms from ${sweepStart} ms)`);
  }));

test.run();
