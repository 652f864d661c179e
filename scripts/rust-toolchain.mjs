// Which Rust toolchain builds the wasm core, shared by build.mjs and
// run-tests.mjs. Two routes, whichever is present:
//   rustup  a rustup toolchain with the wasm32-unknown-unknown target
//           (prebuilt std; rustup's own rust-lld links)
//   debian  Debian's rustc-web + cargo-web + rust-web-src: no prebuilt
//           wasm32 std, so cargo builds std from source (RUSTC_BOOTSTRAP
//           lets stable cargo take -Zbuild-std), Debian's lld links
// CFSKIT_RUST=rustup|debian picks one when both are there; rustup wins
// otherwise, being what a developer off Debian has.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const WASM = 'wasm32-unknown-unknown';

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function out(cmd, args, env = process.env) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

function rustupRoute() {
  const rustup = onPath('rustup');
  if (!rustup) return { missing: 'rustup is not on PATH' };
  const targets = out(rustup, ['target', 'list', '--installed']);
  if (!targets?.split('\n').includes(WASM)) return { missing: `rustup's active toolchain has no ${WASM} target` };
  const cargo = out(rustup, ['which', 'cargo']);
  if (!cargo) return { missing: 'rustup has no cargo' };
  return {
    name: 'rustup',
    cargo,
    // .cargo/config.toml names Debian's wasm-ld; rustup ships rust-lld.
    env: { ...process.env, [`CARGO_TARGET_${WASM.toUpperCase().replace(/-/g, '_')}_LINKER`]: 'rust-lld' },
    wasmArgs: ['--target', WASM],
  };
}

function debianRoute() {
  const bin = '/usr/bin';
  const cargo = join(bin, 'cargo');
  const rustc = join(bin, 'rustc');
  if (!existsSync(cargo) || !existsSync(rustc)) return { missing: 'Debian\'s cargo-web and rustc-web are not installed' };
  const sysroot = out(rustc, ['--print', 'sysroot']);
  if (!sysroot || !existsSync(join(sysroot, 'lib/rustlib/src/rust/library'))) return { missing: 'rust-web-src (std\'s source) is not installed' };
  if (!onPath('wasm-ld') && !existsSync(join(bin, 'wasm-ld'))) return { missing: 'lld (wasm-ld) is not installed' };
  return {
    name: 'debian',
    cargo,
    // rustup's shims, if any, must not be picked up for rustc or rustdoc.
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`, RUSTC: rustc, RUSTDOC: join(bin, 'rustdoc'), RUSTC_BOOTSTRAP: '1' },
    wasmArgs: ['--target', WASM, '-Zbuild-std=std,panic_abort'],
  };
}

/** The toolchain to use, or throws one message saying what either route lacks. */
export function rustToolchain() {
  const wanted = process.env.CFSKIT_RUST;
  const routes = wanted === 'rustup' ? [rustupRoute()] : wanted === 'debian' ? [debianRoute()] : [rustupRoute(), debianRoute()];
  const found = routes.find((r) => r.name);
  if (found) return found;
  throw new Error(
    `no Rust toolchain that builds the wasm core (${routes.map((r) => r.missing).join('; ')}). ` +
      `Install either rustup with \`rustup target add ${WASM}\`, or on Debian 12: apt-get install rustc-web cargo-web rust-web-src lld`,
  );
}

export const WASM_TARGET = WASM;
