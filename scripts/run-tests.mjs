#!/usr/bin/env node
// Runs every test suite and ends with one line: "N passed, N failed".
//   lint         module boundaries and the public API (scripts/check-boundaries.mjs)
//   rust         wasm-core's own tests (native) and clippy
//   unit         uvu, pure logic through the wasm core; run twice, the second
//                time with CFSKIT_DISABLE_ADDON=1 (as on a system without the
//                addon: reads and the portable write path)
//   integration  uvu, real tools, file systems, containers-storage
//   package      the npm tarball installed and used as a user gets it (with
//                the prebuilt addon, without it, with none loadable)
//   vm           uvu inside a qemu VM whose kernel has fs-verity
//   long         opt-in only: a layer with a file over 8 GiB
// Names on the command line pick suites: node scripts/run-tests.mjs unit rust
// CFSCTL=/path/to/cfsctl (composefs-rs 0.9.0) adds the interop tests.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { rustToolchain } from './rust-toolchain.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
let rust;
try {
  rust = rustToolchain();
} catch (err) {
  rust = { missing: err.message };
}
// Native tests and clippy need no build-std; only the wasm32 clippy does.
const rustStep = (args, wasm = false) =>
  rust.missing
    ? { cmd: process.execPath, args: ['-e', `console.error(${JSON.stringify(`rust: ${rust.missing}`)}); process.exit(1)`], parse: checkPassed }
    : { cmd: rust.cargo, args: [...args.slice(0, 1), ...(wasm ? rust.wasmArgs : []), ...args.slice(1)], cwd: 'wasm-core', env: wasm ? rust.env : nativeEnv(rust.env) };
const nativeEnv = ({ RUSTC_BOOTSTRAP: _unused, ...env }) => env;

const uvu = (dir) => ({ cmd: process.execPath, args: ['node_modules/uvu/bin.js', dir, '.test.js$'], parse: parseUvu });

const suites = {
  lint: [{ cmd: process.execPath, args: ['scripts/check-boundaries.mjs'], parse: checkPassed }],
  rust: [
    { ...rustStep(['test', '--profile', 'ci-test', '--quiet']), parse: parseCargo },
    { ...rustStep(['clippy', '--profile', 'ci-test', '--quiet', '--all-targets', '--', '-D', 'warnings']), parse: checkPassed },
    // The component glue only exists on wasm32.
    { ...rustStep(['clippy', '--release', '--quiet', '--', '-D', 'warnings'], true), parse: checkPassed },
  ],
  unit: [uvu('dist/test/unit'), { ...uvu('dist/test/unit'), env: { ...process.env, CFSKIT_DISABLE_ADDON: '1' }, label: 'CFSKIT_DISABLE_ADDON=1' }],
  integration: [uvu('dist/test/integration')],
  // npm pack once, installed into an empty directory, used as a user would.
  package: [uvu('dist/test/package')],
  // Opt-in only (named on the command line): hours of disk and CPU.
  long: [uvu('dist/test/long')],
  vm: existsSync(`${root}/dist/test/vm/run.js`) ? [{ cmd: process.execPath, args: ['dist/test/vm/run.js'], parse: parseUvu }] : [],
};

/** A check that is one test: it passed if it exited 0. */
function checkPassed(_out, status) {
  return { passed: status === 0 ? 1 : 0, failed: status === 0 ? 0 : 1 };
}

const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');

function parseUvu(out, status) {
  const text = strip(out);
  const total = [...text.matchAll(/Total:\s+(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  const passed = [...text.matchAll(/Passed:\s+(\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
  if (total === 0 && status !== 0) return { passed: 0, failed: 1 };
  // A crash after the totals still fails the suite.
  const failed = total - passed + (status !== 0 && total === passed ? 1 : 0);
  return { passed, failed };
}

function parseCargo(out, status) {
  let passed = 0;
  let failed = 0;
  for (const m of strip(out).matchAll(/test result: \w+\. (\d+) passed; (\d+) failed/g)) {
    passed += Number(m[1]);
    failed += Number(m[2]);
  }
  if (status !== 0 && failed === 0) failed = 1;
  return { passed, failed };
}

function runStep(step) {
  return new Promise((resolve) => {
    const child = spawn(step.cmd, step.args, { cwd: `${root}/${step.cwd ?? ''}`, env: step.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c) => { out += c; process.stdout.write(c); });
    child.stderr.on('data', (c) => { out += c; process.stderr.write(c); });
    child.on('error', (err) => { out += String(err); resolve({ out, status: 127 }); });
    child.on('close', (status) => resolve({ out, status: status ?? 1 }));
  });
}

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (!(name in suites)) {
    console.error(`run-tests: unknown suite "${name}" (suites: ${Object.keys(suites).join(', ')})`);
    process.exit(2);
  }
}
// The tests that compare with cfsctl itself run only with one the
// developer built (composefs-rs is packaged nowhere): CFSCTL=path.
if (wanted.length === 0 || wanted.includes('integration')) {
  console.log(process.env.CFSCTL ? `cfsctl: ${process.env.CFSCTL} (interop tests run)` : 'cfsctl: $CFSCTL is not set (interop tests are skipped)');
}
let passed = 0;
let failed = 0;
const summary = [];
for (const [name, steps] of Object.entries(suites)) {
  if (wanted.length > 0 ? !wanted.includes(name) : name === 'long') continue;
  const started = Date.now();
  let p = 0;
  let f = 0;
  for (const step of steps) {
    console.log(`\n=== ${name}: ${[step.label, step.cmd.split('/').pop(), ...step.args].filter(Boolean).join(' ')}`);
    const { out, status } = await runStep(step);
    const r = step.parse(out, status);
    p += r.passed;
    f += r.failed;
  }
  summary.push(`  ${name.padEnd(12)} ${String(p).padStart(4)} passed, ${String(f).padStart(3)} failed  (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  passed += p;
  failed += f;
}
console.log(`\n${summary.join('\n')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
