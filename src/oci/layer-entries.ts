/**
 * The members of a stored layer, read from its splitstream as
 * composefs-rs's `tar::get_entry` reads them: the wasm core parses the
 * inline bytes as tar; each external chunk is a file's content by
 * reference (object ID and the header's size), never read. Also the two
 * listings `cfsctl oci layer` makes from them: `--json` (layer_info) and
 * `--dumpfile` (layer_dumpfile).
 */
import { type CoreLayerEntry as LayerEntry, coreMessage, oci, withInput } from '../core/index.js';
import { NotFoundError } from '../../common/index.js';
import type { Repository } from '../repository/index.js';
import { CONTENT_TYPES, type SplitstreamReader } from '../splitstream/index.js';
import { layerContentId } from './identifiers.js';

export type { LayerEntry };

/** Entries of the layer stream `reader` (whose name errors use). */
export async function* splitstreamLayerEntries(reader: SplitstreamReader): AsyncGenerator<LayerEntry> {
  const layer = withInput(reader.name, () => new oci.LayerReader(reader.info.hashAlg));
  try {
    for await (const chunk of reader.chunks()) {
      const entries =
        chunk.kind === 'inline'
          ? withInput(reader.name, () => layer.inline(chunk.data))
          : withInput(reader.name, () => layer.external(chunk.objectId));
      yield* entries;
    }
    withInput(reader.name, () => layer.finish());
  } finally {
    layer[Symbol.dispose]();
  }
}

/**
 * The whole tar structure of a layer stream, walked to its end without
 * reading any object: its member count, or the problem (a damaged or
 * cut-short stream), as text.
 */
export async function checkLayerStream(reader: SplitstreamReader): Promise<{ entries: number } | { problem: string }> {
  const layer = new oci.LayerReader(reader.info.hashAlg);
  let entries = 0;
  try {
    for await (const chunk of reader.chunks()) entries += (chunk.kind === 'inline' ? layer.inline(chunk.data) : layer.external(chunk.objectId)).length;
    layer.finish();
    if (!layer.ended()) return { problem: `the tar stops after ${members(entries)} without its end-of-archive blocks (cut short?)` };
    return { entries };
  } catch (err) {
    return { problem: `after ${members(entries)}: ${coreMessage(err)}` };
  } finally {
    layer[Symbol.dispose]();
  }
}

const members = (n: number): string => `${n} member${n === 1 ? '' : 's'}`;

async function openLayer<T>(repo: Repository, diffId: string, body: (reader: SplitstreamReader, streamId: string) => Promise<T>): Promise<T> {
  const contentId = layerContentId(diffId);
  const streamId = await repo.streams.has(contentId);
  if (streamId === undefined) throw new NotFoundError(`layer ${diffId}`, 'not found in the repository');
  const stream = await repo.streams.open(contentId, { contentType: CONTENT_TYPES.ociLayer });
  try {
    return await body(stream.reader, stream.id);
  } finally {
    await stream.close();
  }
}

/** Every member of the layer `diffId`, in archive order. */
export async function* layerEntries(repo: Repository, diffId: string): AsyncGenerator<LayerEntry> {
  const contentId = layerContentId(diffId);
  if ((await repo.streams.has(contentId)) === undefined) throw new NotFoundError(`layer ${diffId}`, 'not found in the repository');
  const stream = await repo.streams.open(contentId, { contentType: CONTENT_TYPES.ociLayer });
  try {
    yield* splitstreamLayerEntries(stream.reader);
  } finally {
    await stream.close();
  }
}

/** What `cfsctl oci layer --json` prints (composefs-rs `LayerInfo`). */
export interface LayerInfo {
  readonly diffId: string;
  /** The layer stream's object ID. */
  readonly verity: string;
  /** Size of the layer tar. */
  readonly size: number;
  readonly entryCount: number;
  readonly splitstream: {
    /** Distinct objects the stream references. */
    readonly externalObjects: number;
    /** Sum of the sizes of the files stored as objects (each time one appears). */
    readonly externalSize: number;
    /** Everything else: headers, padding, small files. */
    readonly inlineSize: number;
  };
}

export function layerInfo(repo: Repository, diffId: string): Promise<LayerInfo> {
  return openLayer(repo, diffId, async (reader, streamId) => {
    let entryCount = 0;
    let externalSize = 0n;
    for await (const entry of splitstreamLayerEntries(reader)) {
      entryCount++;
      if (entry.item.tag === 'external-file') externalSize += entry.item.val.size;
    }
    const size = reader.info.streamSize;
    const inlineSize = size > externalSize ? size - externalSize : 0n;
    return {
      diffId,
      verity: streamId,
      size: Number(size),
      entryCount,
      splitstream: { externalObjects: reader.info.objectRefs.length, externalSize: Number(externalSize), inlineSize: Number(inlineSize) },
    };
  });
}

/** Entries per call when formatting dumpfile lines in the core. */
const LINES_BATCH = 1024;

/** `cfsctl oci layer --dumpfile`: one dumpfile line per member, to `write`. */
export function writeLayerDumpfile(repo: Repository, diffId: string, write: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  return openLayer(repo, diffId, async (reader) => {
    let batch: LayerEntry[] = [];
    for await (const entry of splitstreamLayerEntries(reader)) {
      batch.push(entry);
      if (batch.length === LINES_BATCH) {
        await write(oci.dumpfileLines(batch));
        batch = [];
      }
    }
    if (batch.length > 0) await write(oci.dumpfileLines(batch));
  });
}
