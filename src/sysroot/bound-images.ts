/**
 * Logically bound images, read as bootc's `boundimage.rs` reads them, but
 * from a deployment's composefs image in the repository instead of a
 * mounted root: every entry of `/usr/lib/bootc/bound-images.d/` must be a
 * symlink (resolved inside the image, never out of it) to a Quadlet
 * `.image` file (`[Image] Image=`, and no `AuthFile=`) or `.container`
 * file (`[Container] Image=`); values may not use systemd `%` specifiers
 * (`%%` is a literal `%`). Any entry that breaks a rule makes the whole
 * set unknown, as in bootc: a caller must not act on part of it.
 */
import { InputError, NotFoundError } from '../../common/index.js';
import type { ComposefsImageFile } from '../image/index.js';
import { iniValue, MAX_INI_BYTES, parseIni } from './ini.js';
import { BOUND_IMAGES_DIR } from './layout.js';

export interface BoundImage {
  /** The entry in bound-images.d (`my-app.image`). */
  readonly entry: string;
  /** The file it resolves to inside the image. */
  readonly file: string;
  readonly kind: 'image' | 'container';
  /** The image reference (`Image=`), specifiers expanded. */
  readonly image: string;
}

/** Reads an external file's object (bounded); given by the caller, which knows the repository. */
export type ReadObject = (objectId: string, size: number, name: string) => Promise<Buffer>;

const MAX_HOPS = 40;

/** Expands `%%` to `%`; any other systemd specifier is refused, as bootc refuses it. */
export function parseSpecValue(value: string, name: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c !== '%') {
      out += c;
      continue;
    }
    const next = value[++i];
    if (next === undefined) throw new InputError(name, `"${value}" ends with an unterminated %`);
    if (next !== '%') throw new InputError(name, `"${value}" uses the systemd specifier %${next}, which bound images do not support`);
    out += '%';
  }
  return out;
}

/** The image a `.image` or `.container` file names; `entry` decides which it is. */
export function parseBoundImageFile(bytes: Uint8Array, entry: string, name: string): { kind: BoundImage['kind']; image: string } {
  const kind = entry.endsWith('.image') ? 'image' : entry.endsWith('.container') ? 'container' : undefined;
  if (kind === undefined) throw new InputError(name, `bound image entry "${entry}" must end in .image or .container`);
  const doc = parseIni(bytes, name);
  const section = kind === 'image' ? 'Image' : 'Container';
  const image = iniValue(doc, section, 'Image');
  if (image === undefined || image === '') throw new InputError(name, `has no [${section}] Image=`);
  // bootc refuses these: an auth file would make its pull fail.
  if (kind === 'image' && iniValue(doc, 'Image', 'AuthFile') !== undefined) {
    throw new InputError(name, 'sets AuthFile=, which bound images do not support');
  }
  return { kind, image: parseSpecValue(image, name) };
}

function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * The path `path` leads to inside the image, following symlinks in every
 * component. `..` above the root, or a missing component, is an error:
 * such an entry does not name a file the image holds.
 */
export function resolveInImage(image: ComposefsImageFile, path: string, name: string): string {
  const done: string[] = [];
  let todo = components(path);
  let hops = 0;
  while (todo.length > 0) {
    const [head, ...rest] = todo as [string, ...string[]];
    todo = rest;
    if (head === '..') {
      if (done.length === 0) throw new InputError(name, `leads out of the image ("${path}")`);
      done.pop();
      continue;
    }
    const here = `/${[...done, head].join('/')}`;
    let fileType;
    try {
      fileType = image.stat(here).fileType;
    } catch (err) {
      throw new NotFoundError(name, `leads to ${here}, which the image does not have`, { cause: err });
    }
    if (fileType !== 'symlink') {
      done.push(head);
      continue;
    }
    if (++hops > MAX_HOPS) throw new InputError(name, `more than ${MAX_HOPS} symlinks deep (a loop?)`);
    const target = image.readlink(here).toString('utf8');
    if (target.startsWith('/')) done.length = 0;
    todo = [...components(target), ...todo];
  }
  return `/${done.join('/')}`;
}

async function readImageFile(image: ComposefsImageFile, path: string, readObject: ReadObject, name: string): Promise<Buffer> {
  const st = image.stat(path);
  if (st.fileType !== 'regular') throw new InputError(name, `leads to ${path}, which is not a regular file`);
  if (st.size > MAX_INI_BYTES) throw new InputError(name, `leads to ${path}, ${st.size} bytes: too large for a unit file`);
  const inline = image.inlineContent(path);
  if (inline !== undefined) return inline;
  if (st.objectId === undefined) throw new InputError(name, `${path} has neither inline data nor an object`);
  return readObject(st.objectId, st.size, `${name} (${path})`);
}

/** The bound images `image` declares; none when it has no bound-images.d. */
export async function readBoundImages(image: ComposefsImageFile, readObject: ReadObject, imageName: string): Promise<BoundImage[]> {
  let dir: string;
  try {
    dir = resolveInImage(image, BOUND_IMAGES_DIR, `${imageName}:${BOUND_IMAGES_DIR}`);
  } catch (err) {
    if (err instanceof NotFoundError) return [];
    throw err;
  }
  if (image.stat(dir).fileType !== 'directory') throw new InputError(`${imageName}:${BOUND_IMAGES_DIR}`, 'is not a directory');
  const entries = image.readDir(dir);
  const bound: BoundImage[] = [];
  for (const { name: rawName, stat } of entries) {
    const entryPath = `${imageName}:${dir}/${rawName.toString('latin1')}`;
    let entry: string;
    try {
      entry = new TextDecoder('utf-8', { fatal: true }).decode(rawName);
    } catch {
      throw new InputError(entryPath, 'has a name that is not UTF-8');
    }
    if (stat.fileType !== 'symlink') throw new InputError(entryPath, 'is not a symlink (bound-images.d holds only symlinks to .image or .container files)');
    const file = resolveInImage(image, `${dir}/${entry}`, entryPath);
    const parsed = parseBoundImageFile(await readImageFile(image, file, readObject, entryPath), entry, `${imageName}:${file}`);
    bound.push({ entry, file, ...parsed });
  }
  return bound;
}
