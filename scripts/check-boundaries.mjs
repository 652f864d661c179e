#!/usr/bin/env node
// Checks the module boundaries of the shipped code, for every folder that
// exists now or is added later (the rules name layers, not files):
//   - layers depend downwards only: cli → src → host-bindings → common;
//     common imports nothing of cfskit; cli never calls host-bindings;
//   - a file reaches another folder only through that folder's index.ts
//     (common/, host-bindings/, each src/<module>/), and every src/<module>/
//     has one;
//   - the generated wasm bindings (gen/) are imported by src/core/ only,
//     which re-exports what the rest needs;
//   - the package's public API (src/index.ts) is exactly what the README's
//     API table documents (run after the build: it reads dist/).
// Prints each violation as "file: import 'x': rule" and exits 1 if any.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const LAYERS = ['common', 'host-bindings', 'src', 'cli'];
/** What each layer may import (besides itself and npm packages). */
const ALLOWED = {
  common: [],
  'host-bindings': ['common'],
  src: ['common', 'host-bindings', 'gen'],
  cli: ['common', 'src'],
};

const problems = [];
const report = (file, spec, rule) => problems.push(`${relative(root, file)}: import '${spec}': ${rule}`);

function sources(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (['node_modules', 'build', 'dist', 'gen', 'target'].includes(name)) continue;
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** `src/oci/x.ts` → { layer: 'src', module: 'oci', rest: 'x.ts' }; files directly in a layer have module ''. */
function place(path) {
  const parts = relative(root, path).split(sep);
  const layer = parts[0] ?? '';
  if (layer === 'src' || layer === 'gen') {
    return parts.length > 2 ? { layer, module: parts[1], rest: parts.slice(2).join('/') } : { layer, module: '', rest: parts.slice(1).join('/') };
  }
  return { layer, module: '', rest: parts.slice(1).join('/') };
}

/** The .ts file (or folder entry) an import of a .js path means. */
function target(file, spec) {
  const abs = resolve(dirname(file), spec);
  return abs.endsWith('.js') ? `${abs.slice(0, -3)}.ts` : abs;
}

function isIndex(to) {
  return to.endsWith(`${sep}index.ts`);
}

function checkImport(file, spec) {
  if (!spec.startsWith('.')) return;
  const from = place(file);
  const to = place(target(file, spec));
  if (to.layer === from.layer) {
    // Inside src, modules meet at their index.ts; elsewhere a layer is one module.
    if (from.layer === 'src' && to.module !== from.module && to.module !== '') {
      if (to.rest !== 'index.ts') report(file, spec, `src/${to.module}/ is reached through its index.ts`);
    }
    return;
  }
  if (!LAYERS.includes(to.layer) && to.layer !== 'gen') {
    report(file, spec, `${from.layer}/ may not import from ${to.layer}/`);
    return;
  }
  if (!(ALLOWED[from.layer] ?? []).includes(to.layer)) {
    report(file, spec, `${from.layer}/ may not import ${to.layer}/ (layers: cli → src → host-bindings → common)`);
    return;
  }
  if (to.layer === 'gen') {
    if (!(from.layer === 'src' && from.module === 'core')) report(file, spec, 'generated bindings are imported by src/core/ only (import its index.ts)');
    return;
  }
  if (to.layer === 'src') {
    const entry = to.module === '' ? to.rest === 'index.ts' : to.rest === 'index.ts';
    if (!entry) report(file, spec, `src/${to.module ? `${to.module}/` : ''} is reached through its index.ts`);
    return;
  }
  if (!isIndex(target(file, spec)) || to.rest !== 'index.ts') report(file, spec, `${to.layer}/ is reached through its index.ts`);
}

for (const layer of LAYERS) {
  for (const file of sources(join(root, layer))) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const imported of info.importedFiles) checkImport(file, imported.fileName);
  }
}

for (const name of readdirSync(join(root, 'src'))) {
  const dir = join(root, 'src', name);
  if (statSync(dir).isDirectory() && !existsSync(join(dir, 'index.ts'))) problems.push(`src/${name}/: has no index.ts`);
}

/** The names the README's API table documents: `name` in the first column of the table under "### API". */
function documentedApi() {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = /^### API\n([\s\S]*?)(?=^#{2,3} )/m.exec(`${readme}\n## `)?.[1];
  if (!section) return undefined;
  const names = new Set();
  for (const line of section.split('\n')) {
    const cell = /^\|\s*([^|]+)\|/.exec(line)?.[1];
    if (!cell) continue;
    for (const m of cell.matchAll(/`([A-Za-z_$][\w$]*)`/g)) names.add(m[1]);
  }
  return names;
}

const built = join(root, 'dist/src/index.js');
if (existsSync(built)) {
  const api = await import(pathToFileURL(built).href);
  const exported = new Set(Object.keys(api));
  const documented = documentedApi();
  if (!documented) problems.push('README.md: no "### API" table listing the exports of src/index.ts');
  else {
    for (const name of exported) if (!documented.has(name)) problems.push(`src/index.ts: exports ${name}, which README.md's API table does not document`);
    for (const name of documented) if (!exported.has(name)) problems.push(`README.md: documents ${name}, which src/index.ts does not export`);
  }
} else {
  problems.push('dist/src/index.js is missing: run npm run build before this check');
}

for (const p of problems) console.log(p);
console.log(problems.length === 0 ? 'boundaries: ok' : `boundaries: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
process.exit(problems.length === 0 ? 0 : 1);
