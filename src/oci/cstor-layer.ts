/**
 * One containers-storage layer into a layer splitstream: tar-split's raw
 * segments inline, every file's content from `diff/` — reflinked,
 * hardlinked or copied into the object store when over 64 bytes, inline
 * otherwise — each checked against the size and CRC-64 tar-split recorded.
 * The result is what composefs-rs writes for the same layer.
 */
import { closeSync } from 'node:fs';
import { checkContent, readLayerEntries, tarSplitVerifier, type LayerFile, type StoredLayer } from '../cstor/index.js';
import type { ImportContext, Repository, StoredObject } from '../repository/index.js';
import { layerContentId } from './identifiers.js';
import { INLINE_CONTENT_MAX } from '../core/index.js';
import { LayerStreamBuilder } from './layer-stream.js';
import type { ImportStats } from './stats.js';

export interface CstorLayerOptions {
  readonly context: ImportContext;
  readonly zerocopy: boolean;
  readonly stats: ImportStats;
  readonly progress?: (bytesDone: number) => void;
}

async function storeFile(repo: Repository, file: LayerFile, options: CstorLayerOptions): Promise<StoredObject> {
  const fd = file.release();
  try {
    return await repo.objects.ensureObjectFromFile(fd, file.size, {
      name: `${file.input}: ${file.displayName}`,
      context: options.context,
      zerocopy: options.zerocopy,
      verify: tarSplitVerifier(file),
      ...(file.data ? { content: file.data } : {}),
    });
  } finally {
    // A read-only descriptor of a local file: closing it cannot block, and
    // an asynchronous close costs more than the close itself, per file.
    closeSync(fd);
  }
}

/** Imports `layer` as `oci-layer-<diffId>`; returns the stream's object ID. */
export async function importCstorLayer(repo: Repository, layer: StoredLayer, diffId: string, options: CstorLayerOptions): Promise<string> {
  const builder = new LayerStreamBuilder(repo, options.stats);
  let done = 0;
  try {
    // Checks happen here, in the same read as the digest (verify: false).
    for await (const entry of readLayerEntries(layer, { verify: false })) {
      if (entry.kind === 'segment') {
        await builder.inline(entry.bytes);
        done += entry.bytes.length;
      } else if (entry.size > INLINE_CONTENT_MAX) {
        await builder.external(entry.size, storeFile(repo, entry, options));
        done += entry.size;
      } else {
        const data = entry.data ?? Buffer.alloc(0);
        checkContent(entry, data);
        await builder.inline(data);
        done += entry.size;
      }
      options.progress?.(done);
    }
  } catch (err) {
    await builder.abort();
    throw err;
  }
  return builder.commit(layerContentId(diffId));
}
