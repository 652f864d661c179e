/**
 * Rebuilding the original bytes of a splitstream: inline chunks as they
 * come, external objects streamed from the handles `openObject` returns.
 * The total must be the stream's recorded size.
 */
import { once } from 'node:events';
import type { FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { IntegrityError, systemError } from '../../common/index.js';
import type { SplitstreamReader } from './reader.js';

export type OpenObject = (objectId: Uint8Array) => Promise<FileHandle>;

const OBJECT_READ_SIZE = 1 << 20;

async function write(out: Writable, data: Uint8Array): Promise<void> {
  if (!out.write(data)) await once(out, 'drain');
}

const hex = (id: Uint8Array): string => Buffer.from(id).toString('hex');

/**
 * Streams the original bytes into `out` (which is left open) and returns
 * their count. Handles from `openObject` are closed here. A total other
 * than the recorded stream_size is an IntegrityError.
 */
export async function reassemble(reader: SplitstreamReader, openObject: OpenObject, out: Writable): Promise<bigint> {
  const { name } = reader;
  const want = reader.info.streamSize;
  let total = 0n;
  const tooLong = (what: string): IntegrityError =>
    new IntegrityError(name, `${what} makes the stream longer than its stream_size of ${want} bytes`);
  for await (const chunk of reader.chunks()) {
    if (chunk.kind === 'inline') {
      total += BigInt(chunk.data.length);
      if (total > want) throw tooLong('inline data');
      await write(out, chunk.data);
      continue;
    }
    const handle = await openObject(chunk.objectId);
    const objectName = `${name} object ${hex(chunk.objectId)}`;
    try {
      let expected: number;
      try {
        expected = (await handle.stat()).size;
      } catch (err) {
        throw systemError(err, objectName, 'fstat');
      }
      for (let pos = 0; ; ) {
        // A fresh buffer each time (`out` may hold on to what it was
        // given), sized to what is left so small objects cost little.
        const buffer = Buffer.allocUnsafe(Math.min(OBJECT_READ_SIZE, Math.max(expected - pos, 4096)));
        let bytesRead: number;
        try {
          ({ bytesRead } = await handle.read(buffer, 0, buffer.length, pos));
        } catch (err) {
          throw systemError(err, objectName, 'read');
        }
        if (bytesRead === 0) break;
        pos += bytesRead;
        total += BigInt(bytesRead);
        if (total > want) throw tooLong(`object ${hex(chunk.objectId)}`);
        await write(out, buffer.subarray(0, bytesRead));
      }
    } finally {
      await handle.close();
    }
  }
  if (total !== want) {
    throw new IntegrityError(name, `reassembled ${total} bytes, but the splitstream's stream_size says ${want}`);
  }
  return total;
}
