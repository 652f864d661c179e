/**
 * A plain layer tar (from stdin, an OCI layout, a registry) into a layer
 * splitstream: the same stream composefs-rs writes for the same tar, so a
 * layer imported from containers-storage and from its tar has one ID. The
 * input's sha256 must be the diff_id, or nothing is committed. The source
 * must not reuse a chunk's memory once it has yielded it (streams, zlib
 * and the wasm core hand out fresh buffers): small contents are stored
 * from views of the chunks.
 */
import { createHash } from 'node:crypto';
import { IntegrityError } from '../../common/index.js';
import { type Repository, ObjectWriter } from '../repository/index.js';
import { splitTar } from '../tar/index.js';
import { checkDigest, layerContentId } from './identifiers.js';
import { INLINE_CONTENT_MAX } from '../core/index.js';
import { LayerStreamBuilder } from './layer-stream.js';
import { ImportStats } from './stats.js';

export interface TarLayerResult {
  readonly streamId: string;
  readonly contentId: string;
  readonly alreadyPresent: boolean;
  readonly stats: ImportStats;
}

/**
 * Contents up to this size are gathered in memory and stored in batches
 * (one call into the addon for dozens of files); larger ones stream into
 * their object as they come. With up to 64 objects in flight per layer
 * this bounds what a layer holds to 16 MiB.
 */
export const SMALL_OBJECT_MAX = 256 << 10;

/** Counts and hashes the bytes as they pass, for the diff_id check. */
async function* hashing(source: AsyncIterable<Uint8Array>, hash: ReturnType<typeof createHash>): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

export async function importTarLayer(repo: Repository, diffId: string, source: AsyncIterable<Uint8Array>, input = 'layer tar'): Promise<TarLayerResult> {
  checkDigest(diffId, 'diff_id');
  if (!diffId.startsWith('sha256:')) throw new IntegrityError(input, `diff_id ${diffId} is not a sha256 digest`);
  const contentId = layerContentId(diffId);
  const stats = new ImportStats();
  stats.layers = 1;
  const existing = await repo.streams.has(contentId);
  if (existing !== undefined) {
    stats.layersAlreadyPresent = 1;
    return { streamId: existing, contentId, alreadyPresent: true, stats };
  }
  const hash = createHash('sha256');
  const builder = new LayerStreamBuilder(repo, stats);
  // The object the current member's content goes to (streamed, or
  // gathered when small), and how much is left.
  let object: ObjectWriter | undefined;
  let gathering = false;
  let small: Buffer | undefined;
  let entrySize = 0;
  let remaining = 0;
  try {
    for await (const event of splitTar(hashing(source, hash), input)) {
      if (event.kind === 'inline') {
        await builder.inline(event.bytes);
      } else if (event.kind === 'entry') {
        const isFile = event.entry.type === 'file' || event.entry.type === 'contiguous';
        if (isFile && event.entry.size > SMALL_OBJECT_MAX) {
          object = await ObjectWriter.create(repo.objects);
          entrySize = remaining = event.entry.size;
        } else if (isFile && event.entry.size > INLINE_CONTENT_MAX) {
          gathering = true;
          entrySize = remaining = event.entry.size;
        }
      } else if (event.kind === 'content') {
        if (gathering) {
          // Usually the whole content is in one chunk: then it is stored from
          // a view of that chunk (chunks are never reused), not a copy.
          if (remaining === entrySize && event.bytes.length === entrySize) {
            gathering = false;
            remaining = 0;
            await builder.external(entrySize, repo.objects.ensureObject(event.bytes));
            continue;
          }
          small ??= Buffer.allocUnsafe(entrySize);
          small.set(event.bytes, entrySize - remaining);
          remaining -= event.bytes.length;
          if (remaining === 0) {
            await builder.external(entrySize, repo.objects.ensureObject(small));
            small = undefined;
            gathering = false;
          }
          continue;
        }
        if (!object) {
          await builder.inline(event.bytes);
          continue;
        }
        await object.write(event.bytes);
        remaining -= event.bytes.length;
        if (remaining === 0) {
          // Sealing and linking run on while the next members are read.
          await builder.external(entrySize, object.finish());
          object = undefined;
        }
      }
    }
    const got = `sha256:${hash.digest('hex')}`;
    if (got !== diffId) throw new IntegrityError(input, `sha256 is ${got}, not the diff_id ${diffId}`);
    const streamId = await builder.commit(contentId);
    return { streamId, contentId, alreadyPresent: false, stats };
  } catch (err) {
    await object?.abort();
    await builder.abort();
    throw err;
  }
}
