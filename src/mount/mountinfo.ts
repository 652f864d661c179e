/**
 * What the kernel says is mounted (/proc/self/mountinfo) and which loop
 * devices are bound to which files (/sys/block/loop*), for finding a
 * composefs mount again and checking that unmounting released its device.
 */
import { readdir, readFile } from 'node:fs/promises';
import { InputError, systemError } from '../../common/index.js';

export interface MountEntry {
  readonly id: number;
  readonly parentId: number;
  /** The mount point, as the kernel shows it to this process. */
  readonly mountpoint: string;
  readonly options: string;
  readonly fsType: string;
  /** The mount source ("composefs:<image id>", "/dev/loop3", ...). */
  readonly source: string;
  readonly superOptions: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/**
 * Parses mountinfo(5) lines: `id parent major:minor root mountpoint
 * options [optional fields…] - fstype source superoptions`.
 */
export function parseMountinfo(text: string, name = '/proc/self/mountinfo'): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const [n, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const fields = line.split(' ');
    const dash = fields.indexOf('-', 6);
    const [id, parent, , , mountpoint, options] = fields;
    const [fsType, source, superOptions] = fields.slice(dash + 1);
    if (dash < 0 || id === undefined || parent === undefined || mountpoint === undefined || options === undefined || fsType === undefined) {
      throw new InputError(name, `line ${n + 1} is not a mountinfo line: ${JSON.stringify(line)}`);
    }
    entries.push({
      id: Number(id),
      parentId: Number(parent),
      mountpoint: unescape(mountpoint),
      options,
      fsType,
      source: unescape(source ?? ''),
      superOptions: superOptions ?? '',
    });
  }
  return entries;
}

export async function readMountinfo(): Promise<MountEntry[]> {
  const path = '/proc/self/mountinfo';
  try {
    return parseMountinfo(await readFile(path, 'utf8'), path);
  } catch (err) {
    throw systemError(err, path, 'read');
  }
}

/**
 * The mount a path lookup of `mountpoint` reaches: of the mounts stacked
 * there, the one no other mount there sits on.
 */
export function topMountAt(entries: readonly MountEntry[], mountpoint: string): MountEntry | undefined {
  const here = entries.filter((e) => e.mountpoint === mountpoint);
  return here.find((e) => !here.some((other) => other.parentId === e.id)) ?? here.at(-1);
}

export interface LoopBinding {
  /** /dev/loopN */
  readonly device: string;
  /** The backing file's path as the kernel recorded it (" (deleted)" appended once unlinked). */
  readonly backingFile: string;
  readonly autoclear: boolean;
}

/** Every bound loop device, from sysfs (no loop module loaded: none). */
export async function loopBindings(): Promise<LoopBinding[]> {
  let names: string[];
  try {
    names = (await readdir('/sys/block')).filter((n) => /^loop\d+$/.test(n));
  } catch {
    return [];
  }
  const found: LoopBinding[] = [];
  for (const name of names) {
    try {
      const backingFile = (await readFile(`/sys/block/${name}/loop/backing_file`, 'utf8')).replace(/\n$/, '');
      const autoclear = (await readFile(`/sys/block/${name}/loop/autoclear`, 'utf8').catch(() => '0')).trim() === '1';
      found.push({ device: `/dev/${name}`, backingFile, autoclear });
    } catch {
      // Not bound (no loop/ directory), or unbound meanwhile.
    }
  }
  return found;
}
