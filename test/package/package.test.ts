/**
 * The package as a user gets it: `npm pack` of this checkout (its prepack
 * build is incremental, so it reuses the build outputs), installed with the
 * machine's npm into an empty directory, then used through `npx cfskit` and
 * `import('cfskit')`: with the prebuilt addon, with the addon disabled, and
 * with no prebuilt for the machine and no compiler to build one. One pack and
 * one install for the whole file.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { check, run, type Run } from '../support/cli.js';
import { gated, haveTool } from '../support/prereq.js';
import { dir, file, symlink, tarBytes } from '../support/tar-writer.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NO_ADDON = { CFSKIT_DISABLE_ADDON: '1' };

interface Ctx {
  work: string;
  tarball: string;
  listing: string[];
  app: string;
  /** PATH with a cargo and rustc that leave a mark if anything runs them. */
  path: string;
  cargoMark: string;
}
let ctx: Ctx | undefined;
const need = (): Ctx => {
  if (!ctx) throw new Error('the package was not packed and installed');
  return ctx;
};

test.before(async () => {
  const work = await mkdtemp(join(tmpdir(), 'cfskit-package-'));
  try {
    const fakeBin = join(work, 'fake-bin');
    const cargoMark = join(work, 'cargo-ran');
    await mkdir(fakeBin);
    for (const tool of ['cargo', 'rustc', 'rustup']) {
      await writeFile(join(fakeBin, tool), `#!/bin/sh\necho "$0 $*" >> ${cargoMark}\nexit 1\n`);
      await chmod(join(fakeBin, tool), 0o755);
    }
    const path = `${fakeBin}:${process.env.PATH ?? ''}`;
    const packed = JSON.parse(await check('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT })) as { filename: string; files: { path: string }[] }[];
    const tarball = join(work, packed[0]?.filename ?? 'missing');
    const listing = (packed[0]?.files ?? []).map((f) => f.path);
    const app = join(work, 'app');
    await mkdir(app);
    await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    await check('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', tarball], { cwd: app, env: { ...process.env, PATH: path } });
    ctx = { work, tarball, listing, app, path, cargoMark };
  } catch (err) {
    await rm(work, { recursive: true, force: true });
    throw err;
  }
});

test.after(async () => {
  if (ctx) await rm(ctx.work, { recursive: true, force: true });
});

/** `npx cfskit …` in the app, as a user types it. */
function npx(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const c = need();
  return run('npx', ['--no-install', 'cfskit', ...args], { cwd: c.app, env: { ...process.env, PATH: c.path, ...env } });
}

/** The same command npx runs (node_modules/.bin/cfskit), without npm's start-up each time. */
function installed(args: readonly string[], env: NodeJS.ProcessEnv = {}, input?: Buffer): Promise<Run> {
  const c = need();
  const bin = join(c.app, 'node_modules/.bin/cfskit');
  return run(bin, args, { cwd: c.app, env: { ...process.env, PATH: c.path, ...env }, ...(input ? { input } : {}) });
}

async function ok(args: readonly string[], env: NodeJS.ProcessEnv = {}, input?: Buffer): Promise<Run> {
  const r = await installed(args, env, input);
  assert.is(r.status, 0, `cfskit ${args.join(' ')}: ${r.stderr}`);
  return r;
}

test('the tarball: built core, component and WIT, prebuilt addon, licences; no sources, tests or Rust', () => {
  const { listing } = need();
  for (const wanted of [
    'bin/cfskit', 'README.md', 'LICENSE-MIT', 'LICENSE-APACHE', 'package.json',
    'dist/src/index.js', 'dist/src/index.d.ts', 'dist/cli/main.js', 'dist/host-bindings/index.d.ts',
    'dist/gen/wasm-core/cfskit-core.js', 'dist/component/cfskit-core.wasm', 'dist/component/wit/world.wit',
    'host-bindings/prebuilds/linux-x64/node.napi.glibc.node', 'host-bindings/binding.gyp', 'scripts/install-addon.mjs',
  ]) assert.ok(listing.includes(wanted), `${wanted} is in the tarball`);
  const unwanted = listing.filter((p) =>
    /^(test|bench|wasm-core|gen|src|cli|common)\//.test(p) || p.startsWith('dist/test/') || p.startsWith('dist/bench/') ||
    /\.(rs|map|tsbuildinfo)$/.test(p) || (p.endsWith('.ts') && !p.endsWith('.d.ts')) || p === 'scripts/build.mjs' || p.startsWith('host-bindings/build/'));
  assert.equal(unwanted, [], 'nothing of the checkout but what runs');
});

gated(test, haveTool('aarch64-linux-gnu-g++'))('the arm64 prebuilt, cross-compiled here: an aarch64 ELF object in the tarball', async () => {
  const { app } = need();
  const arm64 = join(app, 'node_modules/cfskit/host-bindings/prebuilds/linux-arm64/node.napi.glibc.node');
  const header = (await readFile(arm64)).subarray(0, 20);
  assert.is(header.subarray(0, 4).toString('latin1'), '\x7fELF');
  assert.is(header.readUInt16LE(16), 3, 'a shared object');
  assert.is(header.readUInt16LE(18), 183, 'EM_AARCH64');
});

test('installing ran no cargo, and the CLI runs from the package', async () => {
  const c = need();
  assert.is(await readFile(c.cargoMark, 'utf8').catch(() => ''), '', 'no Rust tool was called');
  const help = await npx(['--help']);
  assert.is(help.status, 0, help.stderr);
  assert.match(help.stdout, /create-image/);
  assert.not.match(help.stdout + help.stderr, /npm run/);
});

/** A layer with a file, a directory, a symlink; its diff ID. */
function layer(): { tar: Buffer; diffId: string } {
  const tar = tarBytes([dir('etc/'), file('etc/hostname', 'package\n'), file('big', Buffer.alloc(70_000, 7)), symlink('link', 'etc/hostname')]);
  return { tar, diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}` };
}

/** digest, init, oci import-layer, oci images, fsck, create-image; what each printed. */
async function session(env: NodeJS.ProcessEnv, name: string): Promise<Record<string, string>> {
  const c = need();
  const sample = join(c.work, `sample-${name}`);
  await writeFile(sample, Buffer.alloc(100_000, 3));
  const repo = join(c.work, `repo-${name}`);
  const { tar, diffId } = layer();
  const digest = (await ok(['digest', sample], env)).stdout;
  await ok(['init', '--insecure', repo], env);
  const imported = (await ok(['--repo', repo, 'oci', 'import-layer', diffId, 'base'], env, tar)).stdout;
  const images = (await ok(['--repo', repo, 'oci', 'images', '--json'], env)).stdout;
  const tree = join(c.work, `tree-${name}`);
  await mkdir(join(tree, 'etc'), { recursive: true });
  await mkdir(join(tree, 'usr'), { recursive: true });
  await writeFile(join(tree, 'etc/hostname'), 'package\n');
  // Both sessions store the same tree: same mtimes.
  for (const p of ['etc/hostname', 'etc', 'usr', '.']) await utimes(join(tree, p), 1_700_000_000, 1_700_000_000);
  const created = (await ok(['--repo', repo, 'create-image', tree], env)).stdout;
  const fsck = (await ok(['--repo', repo, 'fsck', '--json'], env)).stdout;
  const library = await check(process.execPath, ['--input-type=module', '-e', `
    import { digestFile, formatDigest, Repository, fsck } from 'cfskit';
    import { hostAvailability } from 'cfskit/host';
    import { createRequire } from 'node:module';
    const repo = await Repository.open(${JSON.stringify(repo)});
    const report = await fsck(repo);
    await repo.close();
    const component = createRequire(import.meta.url).resolve('cfskit/component.wasm');
    console.log(JSON.stringify({ digest: formatDigest(await digestFile(${JSON.stringify(sample)})), fsck: report.ok, host: hostAvailability().available, component }));
  `], { cwd: c.app, env: { ...process.env, ...env } });
  return { digest, imported, images, created, fsck, library };
}

test('with the prebuilt addon and without it: the same outputs, fsck clean, the library importable', async () => {
  const c = need();
  // Two repositories, two trees: the sessions run side by side.
  const [withAddon, without] = await Promise.all([session({}, 'addon'), session(NO_ADDON, 'portable')]);
  const sample = join(c.work, 'sample-addon');
  const reference = (await check('fsverity', ['digest', '--hash-alg=sha512', sample])).trim();
  assert.is(withAddon.digest?.trim(), reference, 'cfskit digest equals fsverity digest');
  assert.is(without.digest?.replace('sample-portable', 'sample-addon'), withAddon.digest, 'digest without the addon');
  for (const key of ['imported', 'images', 'created', 'fsck'] as const) assert.is(without[key], withAddon[key], `${key} without the addon`);
  assert.match(withAddon.imported ?? '', /^sha512:[0-9a-f]{128}\n$/);
  assert.equal(JSON.parse(withAddon.images ?? ''), { images: [] }, 'a layer is not an image');
  assert.is((JSON.parse(withAddon.fsck ?? '{}') as { ok?: boolean }).ok, true);
  const lib = JSON.parse(withAddon.library ?? '{}') as Record<string, unknown>;
  const libNo = JSON.parse(without.library ?? '{}') as Record<string, unknown>;
  assert.is(`${String(lib.digest)} ${sample}`, reference);
  assert.equal([lib.fsck, lib.host, libNo.fsck, libNo.host], [true, true, true, false]);
  assert.is(lib.component, join(c.app, 'node_modules/cfskit/dist/component/cfskit-core.wasm'));
});

test('the declarations compile in a TypeScript consumer (no inferred types from a nested dependency)', async () => {
  const c = need();
  await writeFile(join(c.app, 'consumer.ts'), [
    "import { Repository, digestFile, type FileDigest, type HashAlg } from 'cfskit';",
    "import { hostAvailability } from 'cfskit/host';",
    'const alg: HashAlg = "sha256";',
    'const d: Promise<FileDigest> = digestFile("x", { hashAlg: alg });',
    'export const used = [Repository.open, d, hostAvailability()];',
  ].join('\n'));
  await writeFile(join(c.app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules/@types')] },
    files: ['consumer.ts'],
  }));
  const r = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: c.app });
  assert.is(r.status, 0, r.stdout + r.stderr);
});

test('no prebuilt for this machine and no compiler: installs, falls back, then says once in one line what is missing', async () => {
  const c = need();
  const pkg = join(c.app, 'node_modules/cfskit');
  const prebuilds = join(pkg, 'host-bindings/prebuilds');
  await rename(prebuilds, `${prebuilds}.away`);
  try {
    // npm's rebuild runs the package's install step: node-gyp with a C++ compiler that fails.
    const rebuilt = await run('npm', ['rebuild', 'cfskit', '--foreground-scripts'], { cwd: c.app, env: { ...process.env, PATH: c.path, CXX: 'false', CC: 'false', npm_config_nodedir: '/usr' } });
    assert.is(rebuilt.status, 0, `the install step never fails the install: ${rebuilt.stderr}`);
    assert.match(rebuilt.stderr, /cfskit install: no prebuilt addon loads here .*; building it from source/);
    assert.match(rebuilt.stderr, /cfskit install: the addon was not built \(node-gyp exited with 1\)/);
    const sample = join(c.work, 'sample-addon');
    const digest = await ok(['digest', sample]);
    assert.is(digest.stderr, '', 'a pure command says nothing about the addon');
    const measured = await npx(['measure', sample]);
    assert.is(measured.status, 1);
    const notices = measured.stderr.split('\n').filter((l) => l.startsWith('cfskit: '));
    assert.is(notices.length, 1, measured.stderr);
    assert.match(notices[0] ?? '', /No native build was found for platform=linux arch=x64.*still work.*`npm rebuild cfskit`/);
    assert.not.match(measured.stderr, /npm run|build\.mjs/);
  } finally {
    await rm(join(pkg, 'host-bindings/build'), { recursive: true, force: true });
    await rename(`${prebuilds}.away`, prebuilds);
  }
});

test.run();
