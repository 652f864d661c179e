/**
 * Bad input to the unified pull, each a clear error (one line naming the
 * reference and podman's own words, exit status 1, no stack trace), with
 * nothing tagged or visible in the repository and no podman service or
 * other process left running for the store: registry down, credentials
 * refused, unknown repository or tag, a blob corrupted on the registry's
 * disk, a platform the index lacks, an unwritable storage root, podman
 * missing from $PATH — and a store whose layer does not match its
 * config's diff_id, refused before stage 2 with the layer named.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cfskit, run, type Run } from '../support/cli.js';
import { writeOciLayout } from '../support/oci-image-fixtures.js';
import { OCI_LAYERS } from '../support/oci-layers.js';
import { havePodman, removePodmanTree } from '../support/podman.js';
import { gated } from '../support/prereq.js';
import { freePort, registryPrereqs, REGISTRY_USER, startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSourceFixtures, registryManifest, SOURCE_IMAGES } from '../support/source-fixtures.js';
import { assertNoProcessFor, assertRepositoryUntouched, freshTarget, storagePull, type StoreDirs } from '../support/storage-pull.js';
import { file, tarBytes } from '../support/tar-writer.js';

interface Context {
  registry?: TestRegistry;
  secured?: TestRegistry;
  work?: string;
}

const test = suite<Context>('unified pull: bad input', {});
const prereqs = [...registryPrereqs({ auth: 'htpasswd' }), havePodman()];
const it = gated(test, ...prereqs);
const CORRUPT = 'fixtures/corrupt:1';

test.before(async (ctx) => {
  if (prereqs.some((p) => p !== undefined)) return;
  ctx.work = join(tmpdir(), `cfskit-storage-pull-damage-${randomBytes(6).toString('hex')}`);
  await mkdir(ctx.work);
  ctx.registry = await startRegistry();
  await pushSourceFixtures(ctx.registry, ctx.work, ['base', 'multi']);
  // An image of its own, so that damaging its layer on disk touches no other.
  const layout = join(ctx.work, 'layout-corrupt');
  await writeOciLayout(layout, [...OCI_LAYERS.single(), tarBytes([file('usr/corrupt-me', randomBytes(4096))])]);
  await ctx.registry.push(`oci:${layout}`, CORRUPT);
  ctx.secured = await startRegistry({ auth: 'htpasswd' });
  await ctx.secured.push(`oci:${join(ctx.work, 'layout-base')}`, SOURCE_IMAGES.base);
});

test.after(async (ctx) => {
  await ctx.registry?.stop();
  await ctx.secured?.stop();
  if (ctx.work) await removePodmanTree(ctx.work);
});

function need(ctx: Context): { registry: TestRegistry; secured: TestRegistry; work: string } {
  if (!ctx.registry || !ctx.secured || !ctx.work) throw new Error('fixtures were not built');
  return { registry: ctx.registry, secured: ctx.secured, work: ctx.work };
}

/** One line on stderr matching `pattern`, exit 1, nothing in the repository, no process for the store. */
async function refused(t: StoreDirs, r: Run, pattern: RegExp): Promise<void> {
  assert.is(r.status, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0] ?? '', /^cfskit oci pull: /);
  assert.match(r.stderr, pattern, r.stderr);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
  await assertRepositoryUntouched(t.repo);
  assertNoProcessFor(t.root);
}

it('registry down: podman\'s connection error, the reference named', async (ctx) => {
  const { work } = need(ctx);
  const t = await freshTarget(work);
  const reference = `docker://127.0.0.1:${await freePort()}/fixtures/base:1`;
  await refused(t, await storagePull(t, reference, ['--tls-verify=false']), new RegExp(`${reference.replace(/[.:/]/g, '.')}: podman could not pull it: .*(connection refused|connect)`));
});

it('credentials refused, and none given to a registry that wants them', async (ctx) => {
  const { secured, work } = need(ctx);
  const t = await freshTarget(work);
  const reference = secured.ref(SOURCE_IMAGES.base);
  const wrong = await storagePull(t, reference, ['--tls-verify=false', '--creds', `${REGISTRY_USER.username}:wrong`]);
  await refused(t, wrong, /podman could not pull it: .*(unauthorized|authentication required)/i);
  const none = await storagePull(t, reference, ['--tls-verify=false', '--authfile', join(work, 'no-auth.json')]);
  await refused(t, none, /podman could not pull it: .*(unauthorized|authentication required)/i);
  // The right credentials work: the refusals were about them.
  const right = await storagePull(t, reference, [...secured.pullArgs]);
  assert.is(right.status, 0, right.stderr);
});

it('unknown repository and unknown tag', async (ctx) => {
  const { registry, work } = need(ctx);
  const t = await freshTarget(work);
  await refused(t, await storagePull(t, registry.ref('fixtures/nothing-here:1'), registry.pullArgs), /fixtures\/nothing-here:1: podman could not pull it: .*(manifest unknown|name unknown|not found)/);
  await refused(t, await storagePull(t, registry.ref('fixtures/base:no-such-tag'), registry.pullArgs), /fixtures\/base:no-such-tag: podman could not pull it: .*manifest unknown/);
});

it('a blob corrupted on the registry\'s disk: podman refuses it, nothing is imported', async (ctx) => {
  const { registry, work } = need(ctx);
  const manifest = await registryManifest(registry, CORRUPT);
  const layer = manifest.layers[1]?.digest ?? '';
  const hex = layer.slice('sha256:'.length);
  const data = join(registry.dir, 'data/docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
  const bytes = await readFile(data);
  bytes[bytes.length >> 1] = (bytes[bytes.length >> 1] ?? 0) ^ 0xff;
  await writeFile(data, bytes);
  const t = await freshTarget(work);
  await refused(t, await storagePull(t, registry.ref(CORRUPT), registry.pullArgs), /fixtures\/corrupt:1: podman could not pull it: .*(digest|checksum|invalid|gzip|flate)/i);
  const images = await run('podman', ['--root', t.root, '--runroot', t.runRoot, 'images', '--quiet']);
  assert.is(images.stdout.trim(), '', 'podman stored no image either');
});

it('a platform the index lacks', async (ctx) => {
  const { registry, work } = need(ctx);
  const t = await freshTarget(work);
  const r = await storagePull(t, registry.ref(SOURCE_IMAGES.multi), [...registry.pullArgs, '--platform', 'linux/s390x']);
  await refused(t, r, /fixtures\/multi:1: podman could not pull it: .*(no image found|choosing an image from manifest list|s390x)/i);
});

it('an unwritable storage root', async (ctx) => {
  const { registry, work } = need(ctx);
  const readOnly = join(work, `read-only-${Date.now()}`);
  await mkdir(readOnly);
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', readOnly]);
  assert.is(mounted.status, 0, String(mounted.stderr));
  try {
    const t = { ...(await freshTarget(work)), root: join(readOnly, 'store') };
    const r = await storagePull(t, registry.ref(SOURCE_IMAGES.base), registry.pullArgs);
    await refused(t, r, new RegExp(`${readOnly}/store: mkdir failed: .*\\(EROFS\\)`));
  } finally {
    spawnSync('umount', [readOnly]);
  }
});

it('podman missing from $PATH', async (ctx) => {
  const { registry, work } = need(ctx);
  const t = await freshTarget(work);
  const r = await cfskit(['--repo', t.repo, 'oci', 'pull', registry.ref(SOURCE_IMAGES.base), '--storage-root', t.root, '--run-root', t.runRoot, ...registry.pullArgs], {
    env: { ...process.env, PATH: join(work, 'empty-path') },
  });
  await refused(t, r, /podman is not installed \(not found on \$PATH\)/);
});

it('a store whose layer is not its config\'s diff_id: refused before stage 2, the layer named', async (ctx) => {
  const { work } = need(ctx);
  const sysroot = join(work, `sysroot-${Date.now()}`);
  const repo = join(sysroot, 'composefs');
  assert.is((await cfskit(['--repo', repo, 'init', '--insecure'])).status, 0);
  const store = join(repo, 'bootc/storage');
  const runRoot = join(work, `run-tampered-${Date.now()}`);
  const copied = await run('skopeo', ['copy', '--quiet', `oci:${join(work, 'layout-base')}`, `containers-storage:[overlay@${store}+${runRoot}:overlay.skip_mount_home=true]localhost/tampered:1`]);
  assert.is(copied.status, 0, copied.stderr);
  const layersFile = join(store, 'overlay-layers/layers.json');
  const layers = JSON.parse(await readFile(layersFile, 'utf8')) as { id: string; 'diff-digest': string }[];
  const victim = layers[0];
  if (!victim) throw new Error('no layer');
  victim['diff-digest'] = `sha256:${'0'.repeat(64)}`;
  await writeFile(layersFile, JSON.stringify(layers));
  const r = await cfskit(['oci', 'pull', 'containers-storage:localhost/tampered:1', '--sysroot', sysroot, '--run-root', runRoot, '--progress', 'none']);
  await refused({ repo, root: store, runRoot }, r, new RegExp(`layer 1 \\(${victim.id}\\): its diff digest is sha256:0{64}, the config's diff_id is sha256:[0-9a-f]{64}`));
});

test.run();
