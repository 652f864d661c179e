/**
 * The OS-like content of the import benchmarks: layers of files sized like
 * /usr (mostly small, a long tail; ≈35 KiB on average), 100 to a
 * directory, each file's bytes distinct so no two dedupe.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pattern } from '../test/support/pattern.js';

export function osFileSize(i: number): number {
  const r = (i * 2654435761) % 1000;
  if (r < 600) return 100 + ((i * 37) % 3900);
  if (r < 920) return 4096 + ((i * 131) % 40000);
  if (r < 997) return 45000 + ((i * 7919) % 300000);
  return (1 << 20) + ((i * 104729) % (6 << 20));
}

/** Writes layer `layer`'s `files` files under `dir/usr/lib/l<layer>/`; resolves to their total size. */
export async function writeOsLayer(dir: string, layer: number, files: number): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < files; i++) {
    const sub = join(dir, `usr/lib/l${layer}/d${i % 100}`);
    if (i < 100) await mkdir(sub, { recursive: true });
    const size = osFileSize(i + layer * files);
    await writeFile(join(sub, `f${i}`), pattern(size, i * 7 + layer));
    bytes += size;
  }
  return bytes;
}
