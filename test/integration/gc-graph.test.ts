/**
 * Garbage collection on random repositories: images sharing base layers,
 * tagged or not, with composefs images (plain, bootable, and extra ones
 * under other composefs.image* refs) or none, standalone images with and
 * without refs, loose objects and streams, and some composefs images
 * mounted. The survivors must be exactly the reachable set the test
 * computes from how it built the repository; a dry run must report what
 * the real run then removes; fsck must be clean; a second run removes
 * nothing.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gc } from '../../src/gc/index.js';
import { imageFromDumpfile } from '../../src/image/compute.js';
import { fsck } from '../../src/repository/fsck.js';
import { Repository } from '../../src/repository/index.js';
import { CONTENT_TYPES } from '../../src/splitstream/index.js';
import { composefsPrereqs, withComposefsMount } from '../support/composefs.js';
import {
  addComposefsImage,
  addExtraImageRef,
  importModelImage,
  makeLayer,
  mountedNeeds,
  taggedNeeds,
  type ModelImage,
  type ModelLayer,
} from '../support/gc-model.js';
import { pattern } from '../support/pattern.js';
import { gated } from '../support/prereq.js';
import { seededRandom } from '../support/random.js';
import { withTempDir } from '../support/tmp.js';

/** Image refs ensureImage does not write in these (V1) repositories: V2's names, other xattr modes. */
const EXTRA_REFS = ['composefs.image', 'composefs.image.boot', 'composefs.image.xattrs=all', 'composefs.image.v1.xattrs=none'];

async function listObjects(repoPath: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for (const d of await readdir(join(repoPath, 'objects'))) {
    if (!/^[0-9a-f]{2}$/.test(d)) continue;
    for (const name of await readdir(join(repoPath, 'objects', d))) ids.add(`${d}${name}`);
  }
  return ids;
}

interface Graph {
  readonly images: ModelImage[];
  /** Objects kept by images/refs of standalone images. */
  readonly refImages: string[];
  /** Composefs images to mount. */
  readonly toMount: ModelImage[];
}

/** A random repository; `mountable` picks some composefs images to mount. */
async function buildGraph(repo: Repository, seed: number, mountable: boolean): Promise<Graph> {
  const rand = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const bases = [0, 1, 2].map((i) => makeLayer(`base${i}`, 12, seed * 100 + i, true));
  const mids = [0, 1, 2, 3].map((i) => makeLayer(`mid${i}`, 8, seed * 100 + 10 + i));
  const images: ModelImage[] = [];
  for (let i = 0; i < 8; i++) {
    const layers: ModelLayer[] = [pick(bases)];
    for (const m of mids) if (rand() < 0.35) layers.push(m);
    layers.push(makeLayer(`own${i}`, 4 + Math.floor(rand() * 6), seed * 100 + 50 + i));
    const image = await importModelImage(repo, `image${i}`, layers, rand() < 0.65 ? `localhost/img${i}:${seed}` : undefined);
    if (rand() < 0.6) {
      await addComposefsImage(repo, image, false);
      if (rand() < 0.4) await addComposefsImage(repo, image, true);
    }
    if (rand() < 0.35) await addExtraImageRef(repo, image, pick(EXTRA_REFS), pattern(3000 + i, seed * 13 + i));
    images.push(image);
  }
  // Standalone images: one named (kept), one not (collected).
  const refImages: string[] = [];
  for (const [n, named] of [[0, true], [1, false]] as const) {
    const data = pattern(5000 + n, seed * 17 + n);
    const stored = await repo.objects.ensureObject(data);
    const erofs = imageFromDumpfile(`/ 0 40755 2 0 0 0 0.0 - - -\n/f ${data.length} 100644 1 0 0 0 0.0 ${stored.id.slice(0, 2)}/${stored.id.slice(2)} - ${stored.id}\n`);
    const written = await repo.images.write(Buffer.from(erofs.bytes), named ? `standalone/${seed}` : undefined);
    if (named) refImages.push(written.id, stored.id);
  }
  // Loose garbage: objects and an unnamed stream.
  for (let n = 0; n < 5; n++) await repo.objects.ensureObject(pattern(700 + n, seed * 31 + n));
  const writer = repo.streams.writer(CONTENT_TYPES.ociBlob);
  await writer.writeInline(Buffer.from(`loose ${seed}`));
  const loose = await repo.objects.ensureObject(pattern(4000, seed));
  await writer.writeExternal(Buffer.from(loose.id, 'hex'), 4000);
  await repo.streams.commit(await writer.finish(), `loose-${seed}`);

  const toMount = mountable ? images.filter((i) => i.imageId !== undefined && (i.tag === undefined || rand() < 0.3)).slice(0, 3) : [];
  return { images, refImages, toMount };
}

async function expectedLive(repo: Repository, graph: Graph): Promise<Set<string>> {
  const live = new Set<string>(graph.refImages);
  for (const image of graph.images) if (image.tag !== undefined) for (const id of await taggedNeeds(repo, image)) live.add(id);
  for (const image of graph.toMount) for (const id of mountedNeeds(image)) live.add(id);
  return live;
}

async function withMounts<T>(repo: Repository, images: readonly ModelImage[], body: () => Promise<T>): Promise<T> {
  const [first, ...rest] = images;
  if (first === undefined) return body();
  return withComposefsMount(repo, first.imageId ?? '', () => withMounts(repo, rest, body));
}

async function checkGraph(seed: number, mountable: boolean): Promise<void> {
  await withTempDir(`gc-graph-${seed}`, async (dir) => {
    const repoPath = join(dir, 'repo');
    const repo = await Repository.init(repoPath, { insecure: true });
    try {
      const graph = await buildGraph(repo, seed, mountable);
      const live = await expectedLive(repo, graph);
      const before = await listObjects(repoPath);
      for (const id of live) assert.ok(before.has(id), `seed ${seed}: the model names ${id}, which the repository lacks`);
      assert.ok(before.size > live.size, `seed ${seed}: nothing to collect`);

      await withMounts(repo, graph.toMount, async () => {
        if (graph.toMount.length > 0) {
          // What composefs-rs would do: the mounted images' objects would go.
          const blind = await gc(repo, { dryRun: true, keepMounted: false });
          const withMounted = await gc(repo, { dryRun: true });
          assert.ok(blind.objectsRemoved > withMounted.objectsRemoved, `seed ${seed}: mounted images keep objects`);
          assert.equal(withMounted.mounted.map((m) => m.id).sort(), graph.toMount.map((i) => i.imageId).sort());
        }
        const dry = await gc(repo, { dryRun: true });
        assert.equal(await listObjects(repoPath), before, 'a dry run removes nothing');
        const result = await gc(repo);
        const after = await listObjects(repoPath);
        assert.equal([...after].sort(), [...live].sort(), `seed ${seed}: survivors are the reachable set`);
        assert.is(result.objectsRemoved, before.size - live.size);
        assert.equal(
          { o: dry.objectsRemoved, b: dry.objectsBytes, i: dry.imagesPruned, s: dry.streamsPruned },
          { o: result.objectsRemoved, b: result.objectsBytes, i: result.imagesPruned, s: result.streamsPruned },
          'the dry run reported what the run did',
        );
        assert.ok(result.streamsPruned > 0 && result.imagesPruned > 0, 'unreachable links were pruned');
        const report = await fsck(repo);
        assert.equal(report.problems, [], `seed ${seed}: fsck after gc`);
        const again = await gc(repo);
        assert.equal([again.objectsRemoved, again.imagesPruned, again.streamsPruned], [0, 0, 0], 'a second gc removes nothing');
      });
    } finally {
      await repo.close();
    }
  });
}

test('one tag: its whole chain stays (manifest, config, layers, composefs images), an untagged sibling goes', () =>
  withTempDir('gc-chain', async (dir) => {
    const repoPath = join(dir, 'repo');
    const repo = await Repository.init(repoPath, { insecure: true });
    try {
      const base = makeLayer('base', 10, 3, true);
      const kept = await importModelImage(repo, 'kept', [base, makeLayer('k', 5, 4)], 'localhost/kept:1');
      await addComposefsImage(repo, kept, false);
      await addComposefsImage(repo, kept, true);
      const gone = await importModelImage(repo, 'gone', [base, makeLayer('g', 5, 5)], undefined);
      await addComposefsImage(repo, gone, true);
      await gc(repo);
      assert.equal([...(await listObjects(repoPath))].sort(), [...new Set(await taggedNeeds(repo, kept))].sort());
    } finally {
      await repo.close();
    }
  }));

test('random repositories: the survivors are exactly the reachable set', async () => {
  for (const seed of [1, 2, 3]) await checkGraph(seed, false);
});

gated(test, ...composefsPrereqs())('random repositories with mounted composefs images: mounted images are roots', async () => {
  for (const seed of [4, 5]) await checkGraph(seed, true);
});

test.run();
