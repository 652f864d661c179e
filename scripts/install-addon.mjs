#!/usr/bin/env node
// The package's install step (a checkout builds with scripts/build.mjs and
// skips this). The addon a user gets, in order:
//   1. the prebuilt binary in host-bindings/prebuilds/ (linux-x64), if it loads;
//   2. a build from source with the node-gyp npm brings, if python3, make
//      and a C++ compiler are there;
//   3. none: the install still succeeds, and cfskit says once, in one line,
//      at the first system call, what is missing and what still works.
// It never fails the install and never runs cargo: the wasm core is shipped built.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = `${root}host-bindings`;
const log = (msg) => process.stderr.write(`cfskit install: ${msg}\n`);

if (existsSync(`${root}wasm-core/Cargo.toml`) || process.platform !== 'linux' || process.env.CFSKIT_DISABLE_ADDON === '1') process.exit(0);

const require = createRequire(import.meta.url);
try {
  require('node-gyp-build')(dir);
  process.exit(0);
} catch (err) {
  log(`no prebuilt addon loads here (${String(err.message).split('\n')[0]}); building it from source`);
}

// npm names the node-gyp it bundles; a global one is the fallback.
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
const r = spawnSync(cmd, [...args, 'rebuild', '--silent', '-C', dir], { stdio: ['ignore', 'inherit', 'inherit'] });
if (r.status !== 0) log(`the addon was not built (${r.error?.message ?? `node-gyp exited with ${r.status}`}); cfskit works without it, less the system-call features`);
