/**
 * Kernel modules for the initramfs: which .ko files a module needs and the
 * order to insmod them in. Read from the modules' own .modinfo sections,
 * because the kernel package ships no modules.dep (depmod makes it on
 * install) and the host need not have kmod. Newer Debian kernels ship
 * modules xz-compressed (.ko.xz), which are unpacked here, so busybox's
 * insmod gets plain ELF; modules built into the kernel (modules.builtin)
 * need no loading.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** A module's name as the kernel knows it: file name without .ko (.ko.xz), `-` as `_`. */
export function moduleName(file: string): string {
  return basename(file).replace(/\.ko(?:\.xz)?$/, '').replace(/-/g, '_');
}

/** A module file's ELF bytes, unpacking .ko.xz (with xz, as kmod would). */
export async function readModule(path: string): Promise<Buffer> {
  if (!path.endsWith('.xz')) return readFile(path);
  const { stdout } = await execFileAsync('xz', ['-dc', path], { encoding: 'buffer', maxBuffer: 256 << 20 });
  return stdout;
}

/** The modules built into the kernel, from the package's modules.builtin. */
export async function builtinModules(moduleTree: string): Promise<Set<string>> {
  const text = await readFile(join(moduleTree, 'modules.builtin'), 'utf8').catch(() => '');
  return new Set(text.split('\n').filter((l) => l !== '').map(moduleName));
}

/** The `key=value` strings of an ELF64 little-endian module's .modinfo section. */
export function modinfo(ko: Uint8Array): Map<string, string[]> {
  const view = new DataView(ko.buffer, ko.byteOffset, ko.byteLength);
  const isElf64Le = ko[0] === 0x7f && ko[1] === 0x45 && ko[2] === 0x4c && ko[3] === 0x46 && ko[4] === 2 && ko[5] === 1;
  if (!isElf64Le) throw new Error('not an ELF64 little-endian file');
  const shoff = Number(view.getBigUint64(0x28, true));
  const shentsize = view.getUint16(0x3a, true);
  const shnum = view.getUint16(0x3c, true);
  const shstrndx = view.getUint16(0x3e, true);
  const section = (i: number): { name: number; offset: number; size: number } => {
    const at = shoff + i * shentsize;
    return {
      name: view.getUint32(at, true),
      offset: Number(view.getBigUint64(at + 24, true)),
      size: Number(view.getBigUint64(at + 32, true)),
    };
  };
  const names = section(shstrndx);
  const decoder = new TextDecoder();
  const cString = (offset: number): string => {
    const end = ko.indexOf(0, offset);
    return decoder.decode(ko.subarray(offset, end < 0 ? ko.length : end));
  };
  const info = new Map<string, string[]>();
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (cString(names.offset + s.name) !== '.modinfo') continue;
    for (const entry of decoder.decode(ko.subarray(s.offset, s.offset + s.size)).split('\0')) {
      const eq = entry.indexOf('=');
      if (eq <= 0) continue;
      const key = entry.slice(0, eq);
      info.set(key, [...(info.get(key) ?? []), entry.slice(eq + 1)]);
    }
    return info;
  }
  throw new Error('no .modinfo section');
}

/** The modules a module needs loaded first (its `depends=`). */
export function moduleDepends(ko: Uint8Array): string[] {
  return (modinfo(ko).get('depends') ?? []).flatMap((d) => d.split(',')).filter((d) => d !== '');
}

/**
 * Every module `wanted` needs, each after its dependencies (depth-first
 * post-order; a dependency cycle is an error rather than a hang).
 */
export function loadOrder(wanted: readonly string[], dependsOf: (name: string) => readonly string[]): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: readonly string[]): void => {
    const seen = state.get(name);
    if (seen === 'done') return;
    if (seen === 'visiting') throw new Error(`module dependency cycle: ${[...path, name].join(' → ')}`);
    state.set(name, 'visiting');
    for (const dep of dependsOf(name)) visit(dep, [...path, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of wanted) visit(name, []);
  return order;
}

/** Every .ko under a kernel's module tree, by module name. */
export async function indexModules(moduleTree: string): Promise<Map<string, string>> {
  const index = new Map<string, string>();
  for (const entry of await readdir(moduleTree, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && /\.ko(?:\.xz)?$/.test(entry.name)) {
      index.set(moduleName(entry.name), join(entry.parentPath, entry.name));
    }
  }
  return index;
}

/**
 * The module files to load, in order, for `wanted` from a kernel's module
 * tree; those built into this kernel are left out.
 */
export async function resolveModules(moduleTree: string, wanted: readonly string[]): Promise<{ name: string; path: string }[]> {
  const index = await indexModules(moduleTree);
  const builtin = await builtinModules(moduleTree);
  const depends = new Map<string, string[]>();
  const needed = [...new Set(wanted)].filter((name) => !builtin.has(name));
  for (const name of needed) await collect(name);
  async function collect(name: string): Promise<void> {
    if (depends.has(name)) return;
    const path = index.get(name);
    if (!path) throw new Error(`kernel module ${name} is neither in ${moduleTree} nor built in`);
    const deps = moduleDepends(await readModule(path)).filter((dep) => !builtin.has(dep));
    depends.set(name, deps);
    for (const dep of deps) await collect(dep);
  }
  return loadOrder(needed, (name) => depends.get(name) ?? []).map((name) => ({ name, path: index.get(name) ?? '' }));
}
