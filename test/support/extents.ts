/** Reading a file's extents with filefrag, to prove reflinks share them. */
import * as assert from 'uvu/assert';
import { check } from './cli.js';

export interface Extent {
  readonly blocks: number;
  readonly flags: string[];
}

/** The extents `filefrag -v` lists for `path`, with their flags. */
export async function extentsOf(path: string): Promise<Extent[]> {
  const out = await check('filefrag', ['-v', path]);
  const rows = out.split('\n').filter((line) => /^\s*\d+:\s+\d+\.\./.test(line));
  return rows.map((row) => {
    const fields = row.split(':');
    return { blocks: Number(fields[3]), flags: (fields.at(-1) ?? '').trim().split(',').filter(Boolean) };
  });
}

export async function assertAllShared(path: string, size: number, what: string): Promise<void> {
  const extents = await extentsOf(path);
  assert.ok(extents.length > 0, `${what}: filefrag lists no extents`);
  for (const e of extents) assert.ok(e.flags.includes('shared'), `${what}: extent not shared (${e.flags.join(',')})`);
  const covered = extents.reduce((n, e) => n + e.blocks, 0) * 4096;
  assert.ok(covered >= size, `${what}: extents cover ${covered} of ${size} bytes`);
}

