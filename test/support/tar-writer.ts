/**
 * Layer tars written header by header, so fixtures can hold exactly what
 * real layers hold, odd corners included: names as raw bytes, "./"
 * prefixes, modes carrying file-type bits (old Docker), PAX records of any
 * kind (paths over 100 bytes, SCHILY.xattr.* with binary values, fractional
 * mtimes), devices, whiteouts. Deterministic: same members, same bytes.
 */

export type Bytes = string | Buffer;

export interface TarMember {
  readonly name: Bytes;
  /** Typeflag: '0' file, '1' hard link, '2' symlink, '3' char, '4' block, '5' dir, '6' FIFO. */
  readonly type: '0' | '1' | '2' | '3' | '4' | '5' | '6';
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  readonly mtime?: number;
  readonly data?: Buffer;
  /** Link target (hard links, symlinks). */
  readonly link?: Bytes;
  readonly devmajor?: number;
  readonly devminor?: number;
  /** Extra PAX records (e.g. SCHILY.xattr.*), in this order. */
  readonly pax?: readonly (readonly [string, Bytes])[];
}

export const FIXED_MTIME = 1_700_000_000;

const bytes = (b: Bytes): Buffer => (typeof b === 'string' ? Buffer.from(b, 'utf8') : b);

function octal(block: Buffer, offset: number, length: number, value: number): void {
  const text = value.toString(8).padStart(length - 1, '0');
  if (text.length > length - 1) throw new Error(`${value} does not fit a ${length}-byte tar field`);
  block.write(`${text}\0`, offset, 'latin1');
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length = String(length).length + body.length;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

function header(name: Buffer, type: string, size: number, m: Partial<TarMember>, link: Buffer): Buffer {
  const block = Buffer.alloc(512);
  name.copy(block, 0, 0, Math.min(name.length, 100));
  octal(block, 100, 8, m.mode ?? (type === '5' ? 0o755 : type === '2' ? 0o777 : 0o644));
  octal(block, 108, 8, m.uid ?? 0);
  octal(block, 116, 8, m.gid ?? 0);
  octal(block, 124, 12, size);
  octal(block, 136, 12, m.mtime ?? FIXED_MTIME);
  block.write(type, 156, 'latin1');
  link.copy(block, 157, 0, Math.min(link.length, 100));
  block.write('ustar\0', 257, 'latin1');
  block.write('00', 263, 'latin1');
  octal(block, 329, 8, m.devmajor ?? 0);
  octal(block, 337, 8, m.devminor ?? 0);
  block.fill(' ', 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

function padded(data: Buffer): Buffer[] {
  const pad = (512 - (data.length % 512)) % 512;
  return pad ? [data, Buffer.alloc(pad)] : [data];
}

/** The tar of `members`, with the two end-of-archive blocks. */
export function tarBytes(members: readonly TarMember[]): Buffer {
  const out: Buffer[] = [];
  for (const m of members) {
    const name = bytes(m.name);
    const link = bytes(m.link ?? '');
    const records: Buffer[] = [];
    if (name.length > 100) records.push(paxRecord('path', name));
    if (link.length > 100) records.push(paxRecord('linkpath', link));
    for (const [key, value] of m.pax ?? []) records.push(paxRecord(key, bytes(value)));
    if (records.length > 0) {
      const data = Buffer.concat(records);
      out.push(header(Buffer.from('././@PaxHeader'), 'x', data.length, {}, Buffer.alloc(0)), ...padded(data));
    }
    const data = m.type === '0' ? (m.data ?? Buffer.alloc(0)) : Buffer.alloc(0);
    out.push(header(name, m.type, data.length, m, link), ...padded(data));
  }
  out.push(Buffer.alloc(1024));
  return Buffer.concat(out);
}

/** Shorthands for members. */
export const dir = (name: Bytes, extra: Partial<TarMember> = {}): TarMember => ({ name, type: '5', ...extra });
export const file = (name: Bytes, data: Bytes, extra: Partial<TarMember> = {}): TarMember => ({ name, type: '0', data: bytes(data), ...extra });
export const symlink = (name: Bytes, link: Bytes, extra: Partial<TarMember> = {}): TarMember => ({ name, type: '2', link, ...extra });
export const hardlink = (name: Bytes, link: Bytes, extra: Partial<TarMember> = {}): TarMember => ({ name, type: '1', link, ...extra });
/** `.wh.NAME` in `parent` ("" for the top). */
export const whiteout = (parent: string, name: string): TarMember => file(`${parent ? `${parent}/` : ''}.wh.${name}`, '');
export const opaque = (dirName: string): TarMember => file(`${dirName}/.wh..wh..opq`, '');
