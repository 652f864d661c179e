/**
 * Extended attributes of every entry below a directory, read by one
 * `getfattr` process (Debian package attr): the tests' independent view of
 * what cfskit reads through the addon (src/image/xattrs.ts).
 *
 * `getfattr -R -P -h -d -m - -e hex` lists all namespaces the caller may
 * read (as llistxattr/lgetxattr: a symlink's own xattrs, never its
 * target's), which is what composefs-rs reads. Output is parsed as bytes:
 * getfattr escapes "\", newlines, CR and (in names) "=" as \ooo octal and
 * passes other bytes through, and values come as hex, so names and values
 * of any bytes survive exactly.
 */
import { spawn } from 'node:child_process';
import { InputError, UnsupportedError } from '../../common/index.js';

export interface RawXattr {
  readonly name: Buffer;
  readonly value: Buffer;
}

/** Xattrs by path relative to the root (latin1 of its bytes; '' is the root). */
export type XattrMap = Map<string, RawXattr[]>;

/** Undoes getfattr's \ooo escapes. */
export function unescapeGetfattr(text: Buffer): Buffer {
  if (!text.includes(0x5c)) return text;
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? 0;
    const octal = text.subarray(i + 1, i + 4).toString('latin1');
    if (c === 0x5c && /^[0-7]{3}$/.test(octal)) {
      out.push(parseInt(octal, 8) & 0xff);
      i += 3;
    } else {
      out.push(c);
    }
  }
  return Buffer.from(out);
}

/** Parses `getfattr -d -e hex --absolute-names` output for paths below `root`. */
export function parseGetfattr(output: Buffer, root: Buffer): XattrMap {
  const map: XattrMap = new Map();
  let current: RawXattr[] | undefined;
  let start = 0;
  while (start < output.length) {
    let end = output.indexOf(0x0a, start);
    if (end < 0) end = output.length;
    const line = output.subarray(start, end);
    start = end + 1;
    if (line.length === 0) {
      current = undefined;
      continue;
    }
    if (line.subarray(0, 8).toString('latin1') === '# file: ') {
      const path = unescapeGetfattr(line.subarray(8));
      let rel: Buffer;
      if (path.equals(root)) rel = Buffer.alloc(0);
      else if (path.length > root.length + 1 && path.subarray(0, root.length).equals(root) && path[root.length] === 0x2f) {
        rel = path.subarray(root.length + 1);
      } else {
        throw new InputError(root.toString(), `getfattr listed ${path.toString()} outside the tree`);
      }
      current = [];
      map.set(rel.toString('latin1'), current);
      continue;
    }
    if (!current) throw new InputError(root.toString(), `unexpected getfattr output line: ${line.toString()}`);
    const eq = line.indexOf(0x3d);
    const name = unescapeGetfattr(eq < 0 ? line : line.subarray(0, eq));
    const raw = eq < 0 ? '' : line.subarray(eq + 1).toString('latin1');
    if (raw !== '' && !/^0x([0-9a-f]{2})*$/i.test(raw)) {
      throw new InputError(root.toString(), `getfattr gave a value that is not hex: ${raw.slice(0, 40)}`);
    }
    current.push({ name, value: Buffer.from(raw.slice(2), 'hex') });
  }
  return map;
}

/** Every entry's xattrs below `root` (an absolute path without trailing slash). */
export function readTreeXattrs(root: Buffer): Promise<XattrMap> {
  return new Promise((resolve, reject) => {
    const args = ['-R', '-P', '-h', '-d', '-m', '-', '-e', 'hex', '--absolute-names', '--', root.toString()];
    // Arguments reach a child process as UTF-8 strings: a root path that is
    // not UTF-8 cannot be named (names below it can, getfattr reads them).
    if (!Buffer.from(root.toString()).equals(root)) {
      reject(new UnsupportedError(`${root.toString()}: a tree root whose own path is not UTF-8 is not supported`));
      return;
    }
    const child = spawn('getfattr', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(
        e.code === 'ENOENT'
          ? new UnsupportedError('reading extended attributes needs getfattr (Debian package attr)', { cause: e })
          : e,
      );
    });
    child.on('close', (status) => {
      if (status !== 0) {
        reject(new InputError(root.toString(), `getfattr failed (status ${status}): ${err.trim()}`));
        return;
      }
      try {
        resolve(parseGetfattr(Buffer.concat(out), root));
      } catch (e) {
        reject(e);
      }
    });
  });
}
