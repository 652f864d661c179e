/**
 * Reading `filefrag -v` (e2fsprogs), which reports a file's extents through
 * FIEMAP: where on the block device each run of the file's blocks lies.
 * Pure, so the host can test it; the guest's tamper() uses it.
 */

export interface Extent {
  /** First byte of the file this extent holds. */
  readonly logicalByte: number;
  /** Where that byte lies on the device. */
  readonly physicalByte: number;
  readonly bytes: number;
  readonly flags: readonly string[];
}

/** The extents of the one file in `output`, in bytes. */
export function parseFilefrag(output: string): Extent[] {
  const unit = /is \d+ \(\d+ blocks? of (\d+) bytes\)/.exec(output)?.[1];
  if (!unit) throw new Error(`filefrag -v output without a block size:\n${output}`);
  const blockSize = Number(unit);
  const extents: Extent[] = [];
  const row = /^\s*\d+:\s+(\d+)\.\.\s*(\d+):\s+(\d+)\.\.\s*(\d+):\s+(\d+):\s*(?:\d+:?)?\s*([\w,]*)\s*$/;
  for (const line of output.split('\n')) {
    const m = row.exec(line);
    if (!m) continue;
    const [logical, , physical, , length] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
    extents.push({
      logicalByte: logical * blockSize,
      physicalByte: physical * blockSize,
      bytes: length * blockSize,
      flags: (m[6] ?? '').split(',').filter((f) => f !== ''),
    });
  }
  return extents;
}

/** Flags under which the physical address does not hold the file's bytes as written. */
const UNMAPPABLE = ['unknown_loc', 'delalloc', 'encoded', 'not_aligned', 'inline', 'tail', 'unwritten', 'data_encrypted'];

/** The device byte that holds file byte `offset`, or an error saying why there is none. */
export function physicalByte(extents: readonly Extent[], offset: number): number {
  const extent = extents.find((e) => offset >= e.logicalByte && offset < e.logicalByte + e.bytes);
  if (!extent) throw new Error(`file byte ${offset} is in no extent (a hole, or beyond the end)`);
  const bad = extent.flags.filter((f) => UNMAPPABLE.includes(f));
  if (bad.length > 0) throw new Error(`file byte ${offset} is in an extent flagged ${bad.join(',')}`);
  return extent.physicalByte + (offset - extent.logicalByte);
}
