/**
 * Deterministic directory trees for image tests: a list of entries with
 * exact metadata, materialized on disk (as root: devices, ownership and
 * trusted.* xattrs need it). Node has no mknod, socket-file or xattr API,
 * so those go through one python3 helper process that takes byte paths.
 */
import { spawn } from 'node:child_process';
import { chmod, lchown, link, mkdir, open, symlink, writeFile } from 'node:fs/promises';
import { pattern } from './pattern.js';

/** A '/'-separated path relative to the root ('' is the root), or raw bytes. */
export type Name = string | Buffer;

export interface Meta {
  mode?: number;
  uid?: number;
  gid?: number;
  /** Seconds and nanoseconds. */
  mtime?: [number, number];
  xattrs?: [Name, Name][];
}

export type Entry = Meta & { path: Name } & (
    | { kind: 'dir' }
    /** Content is pattern(size, seed); sparse files get data only at `dataAt`. */
    | { kind: 'file'; size: number; seed?: number; sparse?: boolean; dataAt?: number[] }
    | { kind: 'data'; data: Name }
    | { kind: 'symlink'; target: Name }
    /** A hard link to an earlier entry. */
    | { kind: 'link'; target: Name }
    | { kind: 'fifo' }
    | { kind: 'socket' }
    | { kind: 'chardev' | 'blockdev'; major: number; minor: number }
  );

export interface TreeSpec {
  readonly name: string;
  readonly about: string;
  /** Has /usr, so the container-root transformation (cfsctl's default) applies. */
  readonly container?: boolean;
  /** Has /boot and /sysroot too, so `--bootable` applies. */
  readonly bootable?: boolean;
  readonly entries: readonly Entry[];
}

export const DEFAULT_MTIME: [number, number] = [1700000000, 0];

const bytes = (n: Name): Buffer => (typeof n === 'string' ? Buffer.from(n, 'utf8') : n);

export function joinPath(root: string, rel: Name): Buffer {
  const r = bytes(rel);
  return r.length === 0 ? Buffer.from(root) : Buffer.concat([Buffer.from(`${root}/`), r]);
}

function defaultMode(e: Entry): number {
  switch (e.kind) {
    case 'dir':
      return 0o755;
    case 'symlink':
      return 0o777;
    default:
      return 0o644;
  }
}

/** Work for the python helper: special files and xattrs, paths in hex. */
interface HelperOp {
  op: 'fifo' | 'socket' | 'dev' | 'xattr' | 'time';
  path: string;
  mode?: number;
  char?: boolean;
  major?: number;
  minor?: number;
  name?: string;
  value?: string;
  /** Nanoseconds since the epoch, as a decimal string (exact, may be negative). */
  ns?: string;
}

const HELPER = `
import json, os, socket, stat, sys
for op in json.load(sys.stdin):
    p = bytes.fromhex(op['path'])
    k = op['op']
    if k == 'fifo':
        os.mkfifo(p, 0o644)
    elif k == 'socket':
        s = socket.socket(socket.AF_UNIX)
        s.bind(p)
        s.close()
    elif k == 'dev':
        kind = stat.S_IFCHR if op['char'] else stat.S_IFBLK
        os.mknod(p, kind | 0o644, os.makedev(op['major'], op['minor']))
    elif k == 'time':
        ns = int(op['ns'])
        os.utime(p, ns=(ns, ns), follow_symlinks=False)
    else:
        os.setxattr(p, bytes.fromhex(op['name']), bytes.fromhex(op['value']), follow_symlinks=False)
`;

function runHelper(ops: HelperOp[]): Promise<void> {
  if (ops.length === 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', HELPER], { stdio: ['pipe', 'inherit', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => (status === 0 ? resolve() : reject(new Error(`fstree helper failed (${status}): ${err}`))));
    child.stdin.end(JSON.stringify(ops));
  });
}

async function writeContent(path: Buffer, e: Extract<Entry, { kind: 'file' }>): Promise<void> {
  const fh = await open(path, 'w');
  try {
    if (e.sparse) {
      for (const at of e.dataAt ?? []) {
        const piece = pattern(Math.min(4096, e.size - at), at + (e.seed ?? 0));
        await fh.write(piece, 0, piece.length, at);
      }
      await fh.truncate(e.size);
    } else {
      // Written in pieces so large files need no large buffer.
      for (let pos = 0; pos < e.size; pos += 1 << 20) {
        const piece = pattern(Math.min(1 << 20, e.size - pos), pos + (e.seed ?? 0));
        await fh.write(piece, 0, piece.length, pos);
      }
    }
  } finally {
    await fh.close();
  }
}

/** Creates `spec` under the existing empty directory `root`. */
export async function materialize(root: string, spec: TreeSpec): Promise<void> {
  const ops: HelperOp[] = [];
  const hex = (n: Name): string => bytes(n).toString('hex');
  for (const e of spec.entries) {
    const path = joinPath(root, e.path);
    switch (e.kind) {
      case 'dir':
        if (bytes(e.path).length > 0) await mkdir(path);
        break;
      case 'file':
        await writeContent(path, e);
        break;
      case 'data':
        await writeFile(path, bytes(e.data));
        break;
      case 'symlink':
        await symlink(bytes(e.target), path);
        break;
      case 'fifo':
      case 'socket':
        ops.push({ op: e.kind, path: path.toString('hex') });
        break;
      case 'chardev':
      case 'blockdev':
        ops.push({ op: 'dev', path: path.toString('hex'), char: e.kind === 'chardev', major: e.major, minor: e.minor });
        break;
      case 'link':
        break;
    }
  }
  await runHelper(ops);
  for (const e of spec.entries) {
    if (e.kind === 'link') await link(joinPath(root, e.target), joinPath(root, e.path));
  }
  const lateOps: HelperOp[] = [];
  for (const e of spec.entries) {
    if (e.kind === 'link') continue;
    const path = joinPath(root, e.path);
    await lchown(path, e.uid ?? 0, e.gid ?? 0);
    // chmod after chown: chown clears the setuid and setgid bits.
    if (e.kind !== 'symlink') await chmod(path, e.mode ?? defaultMode(e));
    for (const [name, value] of e.xattrs ?? []) {
      lateOps.push({ op: 'xattr', path: path.toString('hex'), name: hex(name), value: hex(value) });
    }
  }
  // Times last and deepest first: creating an entry changes its parent's
  // mtime. Python sets them: Node's lutimes takes float seconds and treats
  // negative times as "now".
  const timed = spec.entries.filter((e) => e.kind !== 'link');
  timed.sort((a, b) => depth(b.path) - depth(a.path));
  for (const e of timed) {
    const [sec, nsec] = e.mtime ?? DEFAULT_MTIME;
    lateOps.push({ op: 'time', path: joinPath(root, e.path).toString('hex'), ns: (BigInt(sec) * 1000000000n + BigInt(nsec)).toString() });
  }
  await runHelper(lateOps);
}

function depth(p: Name): number {
  const b = bytes(p);
  if (b.length === 0) return 0;
  let n = 1;
  for (const c of b) if (c === 0x2f) n++;
  return n;
}
