/**
 * Bad input to pulls without a container engine: each a clear error (one
 * line naming the source and the problem, exit status 1, no stack trace)
 * and nothing tagged or visible afterwards — no tag, no config or
 * manifest stream, no composefs image, and fsck clean. Registry down,
 * credentials refused, unknown repository or tag, a blob with one byte
 * changed and one cut short (served by a proxy in front of the real
 * registry), a platform the index lacks, an unknown media type,
 * index.json naming a missing blob, a truncated archive, an archive
 * member named with "..", a gzip bomb.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, truncate, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cfskit, run, type Run } from '../support/cli.js';
import { writeOciLayout } from '../support/oci-image-fixtures.js';
import { OCI_LAYERS } from '../support/oci-layers.js';
import { gated } from '../support/prereq.js';
import { registryPrereqs, REGISTRY_USER, startBlobProxy, startRegistry, type TestRegistry } from '../support/registry.js';
import { pushSourceFixtures, registryManifest, SOURCE_IMAGES, type SourceFixtures } from '../support/source-fixtures.js';
import { TarArchive } from '../../src/source/index.js';
import { dir, file, tarBytes } from '../support/tar-writer.js';

interface Context {
  registry?: TestRegistry;
  fixtures?: SourceFixtures;
  work?: string;
}

const test = suite<Context>('pull from a source: bad input', {});
const it = gated(test, ...registryPrereqs({ auth: 'htpasswd' }));

test.before(async (ctx) => {
  if (registryPrereqs({ auth: 'htpasswd' }).some((p) => p !== undefined)) return;
  ctx.work = await mkdtemp(join(tmpdir(), 'cfskit-pull-damage-'));
  ctx.registry = await startRegistry();
  ctx.fixtures = await pushSourceFixtures(ctx.registry, ctx.work, ['base', 'multi']);
});

test.after(async (ctx) => {
  await ctx.registry?.stop();
  if (ctx.work) await rm(ctx.work, { recursive: true, force: true });
});

function need(ctx: Context): { registry: TestRegistry; fixtures: SourceFixtures; work: string } {
  if (!ctx.registry || !ctx.fixtures || !ctx.work) throw new Error('fixtures were not built');
  return { registry: ctx.registry, fixtures: ctx.fixtures, work: ctx.work };
}

const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let count = 0;
async function freshRepo(work: string): Promise<string> {
  const repo = join(work, `repo-${++count}`);
  assert.is((await cfskit(['--repo', repo, 'init', '--insecure'])).status, 0);
  return repo;
}

/** The pull failed as it should: status 1, one line naming the problem, and nothing to show for it. */
async function refused(repo: string, r: Run, pattern: RegExp | string): Promise<void> {
  assert.is(r.status, 1, `status ${r.status}: ${r.stdout}${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.is(lines.length, 1, r.stderr);
  assert.ok(!/\n\s+at /.test(r.stderr), 'no stack trace');
  assert.match(lines[0] ?? '', /^cfskit oci pull: /);
  assert.match(lines[0] ?? '', pattern, lines[0]);
  assert.equal(await readdir(join(repo, 'streams/refs')).catch(() => []), [], 'no ref or tag');
  const streams = await readdir(join(repo, 'streams')).catch(() => [] as string[]);
  assert.equal(streams.filter((s) => s.startsWith('oci-config-') || s.startsWith('oci-manifest-')), [], 'no config or manifest stream');
  assert.equal((await readdir(join(repo, 'images')).catch(() => [] as string[])).filter((n) => n !== 'refs'), [], 'no composefs image');
  const fsck = await cfskit(['--repo', repo, 'fsck']);
  assert.is(fsck.status, 0, fsck.stdout + fsck.stderr);
}

function pull(repo: string, source: string, ...extra: string[]): Promise<Run> {
  return cfskit(['--repo', repo, 'oci', 'pull', source, '--progress', 'none', ...extra]);
}

it('a registry that is down', async (ctx) => {
  const { work } = need(ctx);
  const gone = await startRegistry();
  const host = gone.host;
  await gone.stop();
  const repo = await freshRepo(work);
  await refused(
    repo,
    await pull(repo, `docker://${host}/x:1`, '--tls-verify=false'),
    `registry ${host}: connect failed: https://${host}/v2/: connect ECONNREFUSED ${host}; http://${host}/v2/: connect ECONNREFUSED ${host} (ECONNREFUSED)`,
  );
});

it('credentials refused (basic and bearer) or missing', async (ctx) => {
  const { fixtures, work } = need(ctx);
  for (const auth of ['htpasswd', 'token'] as const) {
    const registry = await startRegistry({ auth });
    try {
      await registry.push(`oci:${fixtures.layouts.base}`, 'private/base:1');
      const repo = await freshRepo(work);
      const ref = registry.ref('private/base:1');
      await refused(repo, await pull(repo, ref, '--tls-verify=false', '--creds', `${REGISTRY_USER.username}:wrong`), `${ref}: the credentials from --creds were refused`);
      await refused(repo, await pull(repo, ref, '--tls-verify=false'), auth === 'htpasswd' ? 'wants credentials (give --creds or log in to an auth file)' : 'access refused');
      const authFile = join(work, `wrong-${count}.json`);
      await writeFile(authFile, JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from('cfskit:nope').toString('base64') } } }));
      await refused(repo, await pull(repo, ref, '--tls-verify=false', '--authfile', authFile), `the credentials from ${authFile} were refused`);
    } finally {
      await registry.stop();
    }
  }
});

it('an unknown repository or tag', async (ctx) => {
  const { registry, work } = need(ctx);
  const repo = await freshRepo(work);
  await refused(repo, await pull(repo, registry.ref('no/such-repo:1'), ...registry.pullArgs), /manifest 1: not in the registry \(HTTP 404 (NAME_UNKNOWN|MANIFEST_UNKNOWN)/);
  await refused(repo, await pull(repo, registry.ref('fixtures/base:no-such-tag'), ...registry.pullArgs), /fixtures\/base:no-such-tag: manifest no-such-tag: not in the registry \(HTTP 404 MANIFEST_UNKNOWN/);
  const digest = `sha256:${'1'.repeat(64)}`;
  await refused(repo, await pull(repo, registry.ref(`fixtures/base@${digest}`), ...registry.pullArgs), `manifest ${digest}: not in the registry`);
});

it('a blob with one byte changed, and one cut short, by a proxy in front of the registry', async (ctx) => {
  const { registry, work } = need(ctx);
  const manifest = await registryManifest(registry, SOURCE_IMAGES.base);
  const layer = manifest.layers[0]?.digest ?? '';
  for (const mode of ['corrupt', 'truncate'] as const) {
    const proxy = await startBlobProxy(registry.host, mode === 'corrupt' ? { corrupt: [layer] } : { truncate: [layer] });
    try {
      const repo = await freshRepo(work);
      const r = await pull(repo, `docker://${proxy.host}/${SOURCE_IMAGES.base}`, '--tls-verify=false');
      if (mode === 'corrupt') {
        await refused(repo, r, new RegExp(`blob ${layer}: its bytes have digest sha256:[0-9a-f]{64}, not ${layer}$`));
        assert.is(proxy.hits.get(layer), 1, 'a corrupt blob is not fetched again');
      } else {
        await refused(repo, r, new RegExp(`blob ${layer}: http failed: broke off after \\d+ of its ${manifest.layers[0]?.size} bytes \\(5 attempts\\): aborted \\(ECONNRESET\\)$`));
        assert.is(proxy.hits.get(layer), 5, 'a blob cut short is resumed, a bounded number of times');
      }
    } finally {
      await proxy.stop();
    }
  }
});

it('a platform the index does not have', async (ctx) => {
  const { registry, work } = need(ctx);
  const repo = await freshRepo(work);
  await refused(repo, await pull(repo, registry.ref(SOURCE_IMAGES.multi), ...registry.pullArgs, '--platform', 'linux/s390x'), 'no image for platform linux/s390x in the index (it has: linux/amd64, linux/arm64); choose one with --platform');
  await refused(repo, await pull(repo, registry.ref(SOURCE_IMAGES.multi), ...registry.pullArgs, '--platform', 'linux/arm64/v7'), 'no image for platform linux/arm64/v7');
});

/** An OCI layout of `single` whose manifest the callback may change. */
async function layout(dir: string, edit?: (manifest: Record<string, unknown>) => void): Promise<string> {
  const docs = await writeOciLayout(dir, OCI_LAYERS.single());
  if (edit) {
    const manifest = JSON.parse(docs.manifest.toString()) as Record<string, unknown>;
    edit(manifest);
    const bytes = Buffer.from(JSON.stringify(manifest));
    await writeFile(join(dir, 'blobs/sha256', sha256(bytes).slice(7)), bytes);
    await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(bytes), size: bytes.length }] }));
  }
  return dir;
}

it('an unknown media type; index.json naming a missing blob; blobs that are not what their descriptors say', async (ctx) => {
  const { work } = need(ctx);
  const repo = await freshRepo(work);
  const odd = await layout(join(work, 'odd-type'), (m) => {
    (m.layers as { mediaType: string }[])[0]!.mediaType = 'application/vnd.example.not-a-layer';
  });
  await refused(repo, await pull(repo, `oci:${odd}`), `oci:${odd}: layer 0 (sha256:`);
  await refused(repo, await pull(repo, `oci:${odd}`), 'has unknown media type application/vnd.example.not-a-layer');
  const missing = await layout(join(work, 'missing-blob'));
  const index = JSON.parse((await run('cat', [join(missing, 'index.json')])).stdout) as { manifests: { digest: string }[] };
  const manifestDigest = index.manifests[0]?.digest ?? '';
  await unlink(join(missing, 'blobs/sha256', manifestDigest.slice(7)));
  await refused(repo, await pull(repo, `oci:${missing}`), `oci:${missing}: index.json or an index names ${manifestDigest}, but blobs/sha256/${manifestDigest.slice(7)} is missing`);
  // A layer blob changed on disk: its digest says so, nothing is imported.
  const changed = await layout(join(work, 'changed-blob'));
  const layer = OCI_LAYERS.single()[0] ?? Buffer.alloc(0);
  const altered = Buffer.from(layer);
  altered[1000] = (altered[1000] ?? 0) ^ 1;
  await writeFile(join(changed, 'blobs/sha256', sha256(layer).slice(7)), altered);
  await refused(repo, await pull(repo, `oci:${changed}`), `blob ${sha256(layer)}: its bytes have digest ${sha256(altered)}, not ${sha256(layer)}`);
  assert.equal((await readdir(join(repo, 'streams')).catch(() => [] as string[])).filter((s) => s.startsWith('oci-layer-')), []);
  await writeFile(join(changed, 'blobs/sha256', sha256(layer).slice(7)), layer.subarray(0, 5000));
  await refused(repo, await pull(repo, `oci:${changed}`), `blob ${sha256(layer)}: ended after 5000 of its ${layer.length} bytes`);
});

/** An offset in the middle of an archive's largest member. */
async function insideLargestMember(path: string): Promise<number> {
  const archive = await TarArchive.open(path, path);
  try {
    const members = archive.names().flatMap((n) => {
      try {
        return archive.member(n) ?? [];
      } catch {
        return []; // directories
      }
    });
    const largest = members.sort((a, b) => b.size - a.size)[0];
    if (!largest) throw new Error(`${path} has no members`);
    return largest.offset + Math.floor(largest.size / 2);
  } finally {
    await archive.close();
  }
}

it('a truncated archive; an archive member named with ".."', async (ctx) => {
  const { registry, work } = need(ctx);
  const repo = await freshRepo(work);
  const archive = join(work, 'base.tar');
  const copy = await run('skopeo', ['copy', '--quiet', ...registry.skopeoArgs('src'), registry.ref(SOURCE_IMAGES.base), `oci-archive:${archive}`]);
  assert.is(copy.status, 0, copy.stderr);
  await truncate(archive, await insideLargestMember(archive));
  await refused(repo, await pull(repo, `oci-archive:${archive}`), /oci-archive:.*base\.tar: the archive is truncated: member "blobs\/sha256\/[0-9a-f]{64}" needs \d+ bytes past its end/);
  const docker = join(work, 'base-docker.tar');
  const save = await run('skopeo', ['copy', '--quiet', ...registry.skopeoArgs('src'), registry.ref(SOURCE_IMAGES.base), `docker-archive:${docker}:localhost/base:1`]);
  assert.is(save.status, 0, save.stderr);
  await truncate(docker, await insideLargestMember(docker));
  await refused(repo, await pull(repo, `docker-archive:${docker}`), /docker-archive:.*: the archive is truncated: member "[0-9a-f]{64}\.tar" needs \d+ bytes past its end/);
  const evil = join(work, 'evil.tar');
  await writeFile(evil, tarBytes([file('oci-layout', '{"imageLayoutVersion":"1.0.0"}'), file('index.json', '{"schemaVersion":2,"manifests":[]}'), file('blobs/sha256/../../../../tmp/cfskit-evil', 'x')]));
  await refused(repo, await pull(repo, `oci-archive:${evil}`), `oci-archive:${evil}: member "blobs/sha256/../../../../tmp/cfskit-evil" has a ".." component: refusing the archive`);
  assert.is(await stat('/tmp/cfskit-evil').catch(() => undefined), undefined, 'nothing written outside');
});

it('a gzip bomb: a layer expanding beyond 256 times its size is stopped (--max-expansion raises that: unit-tested)', async (ctx) => {
  const { work } = need(ctx);
  const repo = await freshRepo(work);
  const tar = tarBytes([dir('usr/'), file('usr/zeros', Buffer.alloc(80 << 20))]);
  const gz = gzipSync(tar, { level: 9 });
  const bomb = join(work, 'bomb');
  const docs = await writeOciLayout(bomb, [tar]);
  // Swap the layer for its gzip: same diff_id, a tiny blob.
  const manifest = JSON.parse(docs.manifest.toString()) as { layers: { mediaType: string; digest: string; size: number }[] };
  manifest.layers[0] = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(gz), size: gz.length };
  const bytes = Buffer.from(JSON.stringify(manifest));
  await writeFile(join(bomb, 'blobs/sha256', sha256(gz).slice(7)), gz);
  await unlink(join(bomb, 'blobs/sha256', sha256(tar).slice(7)));
  await writeFile(join(bomb, 'blobs/sha256', sha256(bytes).slice(7)), bytes);
  await writeFile(join(bomb, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(bytes), size: bytes.length }] }));
  await refused(repo, await pull(repo, `oci:${bomb}`), `layer ${sha256(tar)}: gzip data expands beyond ${64 << 20} bytes, more than 256 times its ${gz.length} compressed bytes`);
});

test.run();
