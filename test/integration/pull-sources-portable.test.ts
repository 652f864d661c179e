/**
 * The podman-free pulls through the portable write path
 * (CFSKIT_DISABLE_ADDON=1, an insecure repository): every transport —
 * `docker://` (gzip and zstd:chunked layers), `oci:`, `oci-archive:`,
 * `docker-archive:` — writes the repository the addon writes for the same
 * source, file for file (objects, streams, images, refs, meta.json); each
 * layer rebuilds its tar, the composefs image is compute-id's, fsck is
 * clean, and cfsctl's fsck too when $CFSCTL names it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cfskit, run } from '../support/cli.js';
import { gated } from '../support/prereq.js';
import { checkPulledImage } from '../support/pulled-image.js';
import { registryPrereqs, startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSourceFixtures, SOURCE_IMAGES, type SourceFixtures } from '../support/source-fixtures.js';
import { treeContents } from '../support/tree-contents.js';

const PORTABLE = { ...process.env, CFSKIT_DISABLE_ADDON: '1' };

interface Context {
  registry?: TestRegistry;
  fixtures?: SourceFixtures;
  work?: string;
  /** Transport name → the reference to pull, and the flags it needs. */
  sources?: Map<string, { ref: string; flags: readonly string[] }>;
}

const test = suite<Context>('pull from a source without the addon', {});
const it = gated(test, ...registryPrereqs());

async function skopeo(args: readonly string[]): Promise<void> {
  const r = await run('skopeo', ['copy', '--quiet', ...args]);
  if (r.status !== 0) throw new Error(`skopeo copy ${args.join(' ')}: ${r.stderr}`);
}

test.before(async (ctx) => {
  if (registryPrereqs().some((p) => p !== undefined)) return;
  ctx.work = await mkdtemp(join(tmpdir(), 'cfskit-pull-portable-'));
  ctx.registry = await startRegistry();
  ctx.fixtures = await pushSourceFixtures(ctx.registry, ctx.work, ['gzip', 'chunked']);
  const { registry, work } = ctx;
  const src = registry.skopeoArgs('src');
  // The others from the registry's gzip image, as skopeo writes them.
  const layout = join(work, 'pulled-layout');
  const ociArchive = join(work, 'image.oci.tar');
  const dockerArchive = join(work, 'image.docker.tar');
  await skopeo([...src, registry.ref(SOURCE_IMAGES.gzip), `oci:${layout}:1`]);
  await skopeo([...src, registry.ref(SOURCE_IMAGES.gzip), `oci-archive:${ociArchive}`]);
  await skopeo([...src, registry.ref(SOURCE_IMAGES.gzip), `docker-archive:${dockerArchive}:localhost/layers:1`]);
  ctx.sources = new Map([
    ['docker:// (gzip)', { ref: registry.ref(SOURCE_IMAGES.gzip), flags: registry.pullArgs }],
    ['docker:// (zstd:chunked)', { ref: registry.ref(SOURCE_IMAGES.chunked), flags: registry.pullArgs }],
    ['oci:', { ref: `oci:${layout}:1`, flags: [] }],
    ['oci-archive:', { ref: `oci-archive:${ociArchive}`, flags: [] }],
    ['docker-archive:', { ref: `docker-archive:${dockerArchive}`, flags: [] }],
  ]);
});

test.after(async (ctx) => {
  await ctx.registry?.stop();
  if (ctx.work) await rm(ctx.work, { recursive: true, force: true });
});


async function ok(args: readonly string[], env: NodeJS.ProcessEnv): Promise<string> {
  const r = await cfskit(args, { env });
  assert.is(r.status, 0, `cfskit ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

let count = 0;
/** `init --insecure` and a pull of `ref`, with or without the addon; the pull's JSON. */
async function pullInto(work: string, ref: string, flags: readonly string[], env: NodeJS.ProcessEnv): Promise<{ repo: string; composefsImage: string | null }> {
  const repo = join(work, `repo-${++count}`);
  await ok(['--repo', repo, 'init', '--insecure'], env);
  const out = await ok(['--repo', repo, 'oci', 'pull', ref, 'image', ...flags, '--json', '--progress', 'none'], env);
  return { repo, composefsImage: (JSON.parse(out) as { composefsImage: string | null }).composefsImage };
}

it('every transport without the addon: the repository the addon writes, layers byte for byte, fsck clean (and cfsctl fsck)', async (ctx) => {
  const { sources, fixtures, work } = ctx;
  if (!sources || !fixtures || !work) throw new Error('fixtures were not built');
  const cfsctl = process.env.CFSCTL;
  for (const [transport, { ref, flags }] of sources) {
    const native = await pullInto(work, ref, flags, process.env);
    const portable = await pullInto(work, ref, flags, PORTABLE);
    const written = await treeContents(portable.repo);
    assert.equal(written, await treeContents(native.repo), `${transport}: the same objects, streams, images, refs and meta.json`);
    assert.ok(written.filter(([rel]) => rel.startsWith('objects/')).length > 4, `${transport}: objects were written`);
    assert.not.ok(written.some(([rel]) => rel.includes('.tmp')), `${transport}: no temporary file left`);
    assert.is(portable.composefsImage, native.composefsImage, `${transport}: composefs image`);
    await checkPulledImage(portable.repo, 'image', portable.composefsImage, fixtures.layers.gzip);
    const fsck = JSON.parse(await ok(['--repo', portable.repo, 'fsck', '--json'], PORTABLE)) as { ok: boolean; streams_checked: number };
    assert.ok(fsck.ok && fsck.streams_checked > fixtures.layers.gzip.length, `${transport}: fsck without the addon: ${JSON.stringify(fsck)}`);
    if (cfsctl) {
      const r = await run(cfsctl, ['--repo', portable.repo, 'fsck']);
      assert.is(r.status, 0, `${transport}: cfsctl fsck: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /status: ok/);
    }
    await rm(native.repo, { recursive: true, force: true });
    await rm(portable.repo, { recursive: true, force: true });
  }
  if (!cfsctl) console.log('  note: $CFSCTL is not set; cfsctl fsck of the portable repositories not run');
});

test.run();
