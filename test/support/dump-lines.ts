/** composefs dumpfile lines parsed back, for comparing with a mounted image. */

export interface DumpLine {
  /** Path bytes as latin1, relative to the root ('' is the root). */
  readonly rel: string;
  readonly size: number;
  /** Full st_mode; 0 for a hard link line. */
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly rdev: number;
  readonly mtime: number;
  readonly mtimeNsec: number;
  /** Symlink target, object path, or (hard link lines) the target's path, as latin1. */
  readonly payload: string;
  /** A hard link line: another name for `payload`. */
  readonly hardlink: boolean;
  /** name → value, both latin1. */
  readonly xattrs: Record<string, string>;
}

function unescape(field: string, optional: boolean): string {
  if (optional && field === '-') return '';
  let out = '';
  for (let i = 0; i < field.length; i++) {
    const c = field[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const k = field[++i];
    if (k === 'x') {
      out += String.fromCharCode(parseInt(field.slice(i + 1, i + 3), 16));
      i += 2;
    } else out += k === 'n' ? '\n' : k === 't' ? '\t' : k === 'r' ? '\r' : (k ?? '');
  }
  return out;
}

export function parseDumpLines(text: string): DumpLine[] {
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const f = line.split(' ');
      const path = unescape(f[0] ?? '', true);
      const rel = path.replace(/^\//, '');
      const hardlink = (f[2] ?? '').startsWith('@');
      const xattrs: Record<string, string> = {};
      for (const x of f.slice(11)) {
        const eq = x.indexOf('=');
        xattrs[unescape(x.slice(0, eq), false)] = unescape(x.slice(eq + 1), false);
      }
      const num = (i: number): number => (hardlink ? 0 : Number(f[i]));
      return {
        rel,
        size: Number(f[1]),
        mode: hardlink ? 0 : parseInt(f[2] ?? '0', 8),
        nlink: num(3),
        uid: num(4),
        gid: num(5),
        rdev: num(6),
        mtime: hardlink ? 0 : Number((f[7] ?? '0').split('.')[0]),
        mtimeNsec: hardlink ? 0 : Number((f[7] ?? '0.0').split('.')[1] ?? '0'),
        payload: unescape(f[8] ?? '-', true).replace(hardlink ? /^\// : /$^/, ''),
        hardlink,
        xattrs,
      };
    });
}
