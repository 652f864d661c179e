/**
 * What a directory tree looks like through the kernel: every entry's type,
 * mode, owner, size, mtime (seconds and nanoseconds), device, link count, symlink target,
 * inline content and xattrs, plus which entries share an inode. Used to
 * compare a source tree with the loop-mounted image made from it.
 */
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { readTreeXattrs } from './getfattr.js';

export interface EntryView {
  type: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  mtimeNsec: number;
  rdev: number;
  nlink: number;
  target?: string;
  content?: string;
  xattrs: Record<string, string>;
  /** The first path (in walk order) of the entry's inode. */
  inode: string;
}

export async function snapshot(root: string, readContent: (rel: string, size: number) => boolean): Promise<Map<string, EntryView>> {
  const xattrs = await readTreeXattrs(Buffer.from(root));
  const out = new Map<string, EntryView>();
  const firstOf = new Map<string, string>();
  const walk = async (rel: Buffer): Promise<void> => {
    const abs = rel.length ? Buffer.concat([Buffer.from(`${root}/`), rel]) : Buffer.from(root);
    const st = await lstat(abs, { bigint: true });
    const key = rel.toString('latin1');
    const ino = `${st.dev}:${st.ino}`;
    if (!firstOf.has(ino)) firstOf.set(ino, key);
    const type = Number(st.mode & 0o170000n);
    const ns = st.mtimeNs;
    const sec = ns / 1_000_000_000n - (ns < 0n && ns % 1_000_000_000n !== 0n ? 1n : 0n);
    const view: EntryView = {
      type,
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: type === 0o040000 ? 0 : Number(st.size),
      mtime: Number(sec),
      mtimeNsec: Number(ns - sec * 1_000_000_000n),
      rdev: Number(st.rdev),
      nlink: Number(st.nlink),
      xattrs: Object.fromEntries((xattrs.get(key) ?? []).map((x) => [x.name.toString('latin1'), x.value.toString('hex')])),
      inode: firstOf.get(ino) ?? key,
    };
    if (type === 0o120000) view.target = (await readlink(abs, { encoding: 'buffer' })).toString('latin1');
    if (type === 0o100000 && readContent(key, view.size)) view.content = (await readFile(abs)).toString('hex');
    out.set(key, view);
    if (type === 0o040000) {
      const names = (await readdir(abs, { encoding: 'buffer' })).sort(Buffer.compare);
      for (const n of names) await walk(rel.length ? Buffer.concat([rel, Buffer.from('/'), n]) : n);
    }
  };
  await walk(Buffer.alloc(0));
  return out;
}
