#!/usr/bin/env node
// Builds what a checkout runs from and a package ships, none of it committed:
//   gen/wasm-core/  the wasm core as a component, transpiled to ES modules by jco
//   host-bindings/build/Release/cfskit_host.node  the Linux syscall addon, and a
//                   copy in the prebuildify layout (host-bindings/prebuilds/
//                   linux-x64/node.napi.glibc.node) that node-gyp-build loads
//                   in an installed package
//   dist/           the compiled TypeScript (with gen/ copied beside it), and
//                   dist/component/: the component .wasm and its WIT, for
//                   other languages' component hosts
// A step runs only when an input is newer than its output.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WASM_TARGET, rustToolchain } from './rust-toolchain.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const log = (msg) => process.stderr.write(`build: ${msg}\n`);

function newest(paths) {
  let t = 0;
  for (const p of paths) {
    if (!existsSync(p)) continue;
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p)) {
        if (e === 'target' || e === 'build' || e === 'prebuilds' || e === 'node_modules') continue;
        t = Math.max(t, newest([join(p, e)]));
      }
    } else t = Math.max(t, st.mtimeMs);
  }
  return t;
}
const stale = (output, inputs) => !existsSync(output) || statSync(output).mtimeMs < newest(inputs);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with status ${r.status}`);
}

function buildWasm() {
  const crate = join(root, 'wasm-core');
  const coreWasm = join(crate, `target/${WASM_TARGET}/release/cfskit_core.wasm`);
  const inputs = ['src', 'wit', 'Cargo.toml', 'Cargo.lock', '.cargo'].map((p) => join(crate, p));
  if (stale(coreWasm, inputs)) {
    const rust = rustToolchain();
    log(`wasm-core: cargo build (${WASM_TARGET}, ${rust.name === 'debian' ? "Debian's rustc-web, std from source" : 'rustup'})`);
    run(rust.cargo, ['build', '--release', '--quiet', ...rust.wasmArgs], { cwd: crate, env: rust.env });
    // cargo leaves an up-to-date output untouched; mark it current so the
    // next run skips cargo entirely.
    const now = new Date();
    utimesSync(coreWasm, now, now);
  }
  const gen = join(root, 'gen/wasm-core');
  if (stale(join(gen, 'cfskit-core.js'), [coreWasm])) {
    log('wasm-core: component + jco transpile');
    rmSync(gen, { recursive: true, force: true });
    mkdirSync(gen, { recursive: true });
    const component = join(root, 'gen/cfskit-core.component.wasm');
    const jco = join(root, 'node_modules/@bytecodealliance/jco/dist/jco.js');
    run(process.execPath, [jco, 'new', coreWasm, '-o', component]);
    run(process.execPath, [jco, 'transpile', component, '-o', gen, '--name', 'cfskit-core', '--quiet']);
    quietDebugLog(join(gen, 'cfskit-core.js'));
  }
}

/**
 * Why this one edit of generated code: jco 1.35's bindings call a debug
 * logger on every component call (266 call sites here), and it reads
 * process.env (a native getter) each time; jco has no option to leave it
 * out. Measured: a 256-byte crc64-checksum call took 7.9 µs with the
 * getter, 3.7 µs with it read once (an import makes hundreds of thousands
 * of such calls). Reading it once at load keeps JCO_DEBUG working. If jco's
 * output changes, the build says so and goes on with the slower calls.
 */
function quietDebugLog(file) {
  const source = readFileSync(file, 'utf8');
  const slow = 'if (!globalThis?.process?.env?.JCO_DEBUG) { return; }';
  if (!source.includes(slow)) return log('jco output changed: its debug logger was not made cheap (check scripts/build.mjs)');
  const fast = source
    .replace('const _debugLog = (...args) => {', 'const _jcoDebug = Boolean(globalThis?.process?.env?.JCO_DEBUG);\nconst _debugLog = (...args) => {')
    .replace(slow, 'if (!_jcoDebug) { return; }');
  writeFileSync(file, fast);
}

function buildAddon() {
  const dir = join(root, 'host-bindings');
  const output = join(dir, 'build/Release/cfskit_host.node');
  if (process.platform !== 'linux') return log('host-bindings: not Linux, skipped');
  if (stale(output, [join(dir, 'src'), join(dir, 'binding.gyp')])) {
    log('host-bindings: node-gyp');
    const gyp = join(root, 'node_modules/node-gyp/bin/node-gyp.js');
    // Headers come from the Node installation; node-gyp must not download them.
    const nodedir = process.env.CFSKIT_NODEDIR ?? '/usr';
    try {
      run(process.execPath, [gyp, 'rebuild', '--silent', `--nodedir=${nodedir}`, '-C', dir]);
    } catch (err) {
      return log(`host-bindings not built (${err.message}); the pure features still work, system calls will report the addon missing`);
    }
  }
  prebuild(output, process.arch, 'strip');
  if (process.arch === 'x64') buildCrossAddon(dir, 'arm64', 'aarch64-linux-gnu');
}

/** The prebuildify layout: N-API (one binary for every Node version), glibc. */
function prebuild(output, arch, strip) {
  const prebuilt = join(root, `host-bindings/prebuilds/linux-${arch}/node.napi.glibc.node`);
  if (!stale(prebuilt, [output])) return;
  mkdirSync(join(prebuilt, '..'), { recursive: true });
  cpSync(output, prebuilt);
  // As prebuildify --strip does (377 → 347 kB).
  if (spawnSync(strip, ['--strip-unneeded', prebuilt]).status !== 0) log(`host-bindings: ${strip} failed, the ${arch} binary keeps its symbols`);
}

/**
 * The addon for another architecture, where Debian's cross compiler is
 * installed (setup.sh installs g++-aarch64-linux-gnu). N-API's headers are the
 * same for every architecture, so the installed Node's serve. It cannot be
 * loaded here (no arm64 Node); the package suite checks what it links.
 */
function buildCrossAddon(dir, arch, triple) {
  if (spawnSync(`${triple}-g++`, ['--version'], { stdio: 'ignore' }).status !== 0) return;
  // Inside the checkout, so binding.gyp finds node-addon-api.
  const work = join(root, `.cache/addon-linux-${arch}`);
  const output = join(work, 'build/Release/cfskit_host.node');
  if (!stale(output, [join(dir, 'src'), join(dir, 'binding.gyp')])) return prebuild(output, arch, `${triple}-strip`);
  log(`host-bindings: node-gyp for linux-${arch} (${triple}-g++)`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  cpSync(join(dir, 'binding.gyp'), join(work, 'binding.gyp'));
  cpSync(join(dir, 'src'), join(work, 'src'), { recursive: true });
  const env = { ...process.env, CC: `${triple}-gcc`, CXX: `${triple}-g++`, LINK: `${triple}-g++`, AR: `${triple}-ar` };
  try {
    run(process.execPath, [join(root, 'node_modules/node-gyp/bin/node-gyp.js'), 'rebuild', '--silent', `--arch=${arch}`, `--nodedir=${process.env.CFSKIT_NODEDIR ?? '/usr'}`, '-C', work], { env });
  } catch (err) {
    return log(`host-bindings for linux-${arch} not built (${err.message}); the package will have no ${arch} prebuilt`);
  }
  prebuild(output, arch, `${triple}-strip`);
}

/** The component and the WIT it was built from, where other hosts find them. */
function copyComponent() {
  const to = join(root, 'dist/component');
  const component = join(root, 'gen/cfskit-core.component.wasm');
  if (stale(join(to, 'cfskit-core.wasm'), [component, join(root, 'wasm-core/wit')])) {
    rmSync(to, { recursive: true, force: true });
    mkdirSync(to, { recursive: true });
    cpSync(component, join(to, 'cfskit-core.wasm'));
    cpSync(join(root, 'wasm-core/wit'), join(to, 'wit'), { recursive: true });
  }
}

function buildTypeScript() {
  const tsc = join(root, 'node_modules/typescript/bin/tsc');
  const inputs = ['common', 'src', 'cli', 'host-bindings', 'test', 'bench', 'tsconfig.json'].map((p) => join(root, p));
  if (stale(join(root, 'dist/.tsbuildinfo'), inputs)) {
    log('tsc');
    run(process.execPath, [tsc, '-p', 'tsconfig.json']);
  }
  const from = join(root, 'gen/wasm-core');
  const to = join(root, 'dist/gen/wasm-core');
  if (stale(join(to, 'cfskit-core.js'), [from])) {
    rmSync(to, { recursive: true, force: true });
    cpSync(from, to, { recursive: true });
  }
}

try {
  buildWasm();
  buildAddon();
  buildTypeScript();
  copyComponent();
} catch (err) {
  log(`failed: ${err.message}`);
  process.exit(1);
}
