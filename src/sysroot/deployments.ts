/**
 * The deployments of a sysroot: one directory per deployment under
 * `state/deploy/`, named by its composefs image ID, holding its origin.
 * Which one is booted, staged or the rollback is known where bootc
 * records it: the booted one is the `composefs=` digest on the kernel
 * command line, the staged one is in /run/composefs/staged-deployment, the
 * rollback is the first other deployment in the bootloader's order
 * (`boot/loader/entries/*.conf`, sorted as the Boot Loader Specification
 * says). Those only describe the running system; for another sysroot the
 * caller passes its own files, or the roles stay unknown.
 *
 * A deployment whose origin is missing or unreadable is listed with the
 * problem: it is still a deployment, and nothing of it may be collected.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CfskitError, InputError, systemError } from '../../common/index.js';
import { MAX_INI_BYTES } from './ini.js';
import { DEFAULT_SYSROOT, STAGED_DEPLOYMENT_FILE, SysrootLayout } from './layout.js';
import { parseOrigin, type Origin } from './origin.js';

export interface Deployment {
  readonly id: string;
  readonly originFile: string;
  /** Undefined when `problem` says why it could not be read. */
  readonly origin: Origin | undefined;
  readonly problem: string | undefined;
  readonly booted: boolean;
  readonly staged: boolean;
  /** Undefined when the bootloader entries (or the booted one) are unknown. */
  readonly rollback: boolean | undefined;
}

export interface BootStateOptions {
  /** The kernel command line to read `composefs=` from (default /proc/cmdline for /sysroot, none otherwise). */
  readonly kernelCmdline?: string;
  /** bootc's staged-deployment file (default /run/composefs/staged-deployment for /sysroot, none otherwise). */
  readonly stagedFile?: string;
}

const DIGEST_KARG = /^composefs\.digest=\??v[12]-sha(?:256|512)-\d+:([0-9a-f]+)$/;

/**
 * The image digests a kernel command line names, in the order composefs-rs
 * 0.9's initramfs tries them (`composefs-boot` `cmdline.rs`): every
 * `composefs.digest=[?]v1|v2-<hash>-<lg>:<hex>` (V1 images are named only
 * so), then the legacy `composefs=[?]<hex>` (a V2 image). `?` marks a boot
 * without fs-verity.
 */
export function composefsDigests(cmdline: string): string[] {
  const words = cmdline.trim().split(/\s+/);
  const explicit = words.flatMap((w) => DIGEST_KARG.exec(w)?.[1] ?? []);
  const legacy = words.filter((w) => w.startsWith('composefs=')).map((w) => w.slice('composefs='.length).replace(/^\?/, ''));
  return [...explicit, ...legacy];
}

/** The first image digest a kernel command line names (composefsDigests). */
export const composefsDigest = (cmdline: string): string | undefined => composefsDigests(cmdline)[0];

async function readOptional(path: string, limit: number): Promise<Buffer | undefined> {
  try {
    const bytes = await readFile(path);
    if (bytes.length > limit) throw new InputError(path, `is ${bytes.length} bytes, more than ${limit}`);
    return bytes;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err instanceof CfskitError ? err : systemError(err, path, 'read');
  }
}

/** The staged deployment's ID from bootc's JSON record. */
export function stagedId(bytes: Buffer, name: string): string {
  let record: unknown;
  try {
    record = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new InputError(name, 'is not JSON');
  }
  const id = (record as { depl_id?: unknown } | null)?.depl_id;
  if (typeof id !== 'string' || id === '') throw new InputError(name, 'has no "depl_id"');
  return id;
}

interface BootEntry {
  readonly digest: string;
  readonly sortKey: string | undefined;
  readonly machineId: string | undefined;
  readonly version: string;
}

/** A BLS Type #1 entry's keys, as bootc's parser reads them (`key value` lines, # comments). */
export function parseBootEntry(text: string): BootEntry | undefined {
  const keys = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const space = line.indexOf(' ');
    if (space > 0) keys.set(line.slice(0, space), line.slice(space + 1).trim());
  }
  const digest = composefsDigest(keys.get('options') ?? '');
  const version = keys.get('version');
  if (digest === undefined || version === undefined) return undefined;
  return { digest, sortKey: keys.get('sort-key'), machineId: keys.get('machine-id'), version };
}

/** The Boot Loader Specification order: sort-key, machine-id, then version, newest first. */
export function compareBootEntries(a: BootEntry, b: BootEntry): number {
  const cmp = (x: string, y: string): number => x.localeCompare(y, 'en', { numeric: true });
  if (a.sortKey !== undefined && b.sortKey !== undefined && a.sortKey !== b.sortKey) return cmp(a.sortKey, b.sortKey);
  if (a.machineId !== undefined && b.machineId !== undefined && a.machineId !== b.machineId) return cmp(a.machineId, b.machineId);
  return -cmp(a.version, b.version);
}

async function bootEntryOrder(layout: SysrootLayout): Promise<string[] | undefined> {
  const dir = join(layout.root, 'boot/loader/entries');
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.conf'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw systemError(err, dir, 'readdir');
  }
  const entries: BootEntry[] = [];
  for (const name of names) {
    const bytes = await readOptional(join(dir, name), MAX_INI_BYTES);
    const entry = bytes === undefined ? undefined : parseBootEntry(bytes.toString('utf8'));
    if (entry !== undefined) entries.push(entry);
  }
  return entries.sort(compareBootEntries).map((e) => e.digest);
}

async function readDeployment(layout: SysrootLayout, id: string): Promise<Pick<Deployment, 'origin' | 'problem'>> {
  const path = layout.originFile(id);
  try {
    const bytes = await readOptional(path, MAX_INI_BYTES);
    if (bytes === undefined) return { origin: undefined, problem: `${path}: origin file is missing` };
    return { origin: parseOrigin(bytes, path), problem: undefined };
  } catch (err) {
    if (err instanceof CfskitError) return { origin: undefined, problem: err.message };
    throw err;
  }
}

/** Every deployment of the sysroot, in name order, with what is known of its role. */
export async function listDeployments(layout: SysrootLayout, options: BootStateOptions = {}): Promise<Deployment[]> {
  let names: string[];
  try {
    names = (await readdir(layout.stateDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') names = [];
    else throw systemError(err, layout.stateDir, 'readdir');
  }
  const running = layout.root === DEFAULT_SYSROOT;
  const cmdlinePath = options.kernelCmdline ?? (running ? '/proc/cmdline' : undefined);
  const stagedPath = options.stagedFile ?? (running ? STAGED_DEPLOYMENT_FILE : undefined);
  const cmdline = cmdlinePath === undefined ? undefined : await readOptional(cmdlinePath, 1 << 20);
  // As the initramfs: the first digest that names an image here.
  const candidates = cmdline === undefined ? [] : composefsDigests(cmdline.toString('utf8'));
  const booted = candidates.find((d) => names.includes(d)) ?? candidates[0];
  const stagedBytes = stagedPath === undefined ? undefined : await readOptional(stagedPath, MAX_INI_BYTES);
  const staged = stagedBytes === undefined || stagedPath === undefined ? undefined : stagedId(stagedBytes, stagedPath);
  const order = await bootEntryOrder(layout);
  const rollbackId = booted === undefined || order === undefined ? undefined : order.find((d) => d !== booted && d !== staged && names.includes(d));

  const deployments: Deployment[] = [];
  for (const id of names) {
    deployments.push({
      id,
      originFile: layout.originFile(id),
      ...(await readDeployment(layout, id)),
      booted: id === booted,
      staged: id === staged,
      rollback: rollbackId === undefined && (booted === undefined || order === undefined) ? undefined : id === rollbackId,
    });
  }
  return deployments;
}
