/**
 * One containers-storage layer into a layer splitstream: tar-split's raw
 * segments inline, every file's content from `diff/` — reflinked,
 * hardlinked or copied into the object store when over 64 bytes, inline
 * otherwise — each checked against the size and CRC-64 tar-split recorded,
 * and the whole rebuilt tar against the layer's diff_id (its sha256, taken
 * in the same pass: a damaged tar-split, whose every record may look fine,
 * makes another tar). The result is what composefs-rs writes for the same
 * layer; nothing is committed unless the digest matches.
 */
import { closeSync } from 'node:fs';
import { IntegrityError, LimitError } from '../../common/index.js';
import { checkContent, readLayerEntries, shortId, tarSplitVerifier, type LayerFile, type StoredLayer } from '../cstor/index.js';
import type { ImportContext, Repository, StoredObject } from '../repository/index.js';
import { layerContentId } from './identifiers.js';
import { EXTERNAL_SIZE_MAX, INLINE_CONTENT_MAX } from '../core/index.js';
import { LayerStreamBuilder } from './layer-stream.js';
import type { ImportStats } from './stats.js';
import { TarDigest } from './tar-digest.js';

export interface CstorLayerOptions {
  readonly context: ImportContext;
  readonly zerocopy: boolean;
  readonly stats: ImportStats;
  readonly progress?: (bytesDone: number) => void;
}

/** Stores a file's content; its descriptor is closed once stored and `hashed` (the tar digest read it). */
async function storeFile(repo: Repository, file: LayerFile, options: CstorLayerOptions, hashed: Promise<void>): Promise<StoredObject> {
  const fd = file.release();
  const name = `${file.input}: ${file.displayName}`;
  try {
    // A batched file was checked, and its ID computed, by the content
    // workers: nothing is read again here.
    if (file.checked) {
      return await repo.objects.ensureObjectFromFile(fd, file.size, {
        name,
        context: options.context,
        zerocopy: options.zerocopy,
        ...(file.objectId === undefined ? {} : { knownId: file.objectId }),
      });
    }
    return await repo.objects.ensureObjectFromFile(fd, file.size, {
      name,
      context: options.context,
      zerocopy: options.zerocopy,
      verify: tarSplitVerifier(file),
      ...(file.data ? { content: file.data } : {}),
    });
  } finally {
    await hashed;
    // A read-only descriptor of a local file: closing it cannot block, and
    // an asynchronous close costs more than the close itself, per file.
    closeSync(fd);
  }
}

/** Imports `layer` as `oci-layer-<diffId>`; returns the stream's object ID. */
export async function importCstorLayer(repo: Repository, layer: StoredLayer, diffId: string, options: CstorLayerOptions): Promise<string> {
  const label = `layer ${diffId}`;
  const algorithm = TarDigest.algorithmOf(diffId);
  if (algorithm === undefined) throw new IntegrityError(label, 'the diff_id is not a sha256 or sha512 digest, so the layer cannot be checked');
  const builder = new LayerStreamBuilder(repo, options.stats);
  const digest = new TarDigest(algorithm);
  let done = 0;
  try {
    // Checks happen here, in the same read as the digest (verify: false),
    // or for small files on the content workers (batch), which also compute
    // the object IDs unless the kernel measures them (a secure repository).
    const batch = { hashAlg: repo.objects.secure ? undefined : repo.objects.hashAlg };
    for await (const entry of readLayerEntries(layer, { verify: false, batch })) {
      if (entry.kind === 'segment') {
        digest.bytes(entry.bytes);
        await builder.inline(entry.bytes);
        done += entry.bytes.length;
      } else if (entry.size > EXTERNAL_SIZE_MAX) {
        // Refused by its size before anything reads it (a sparse file of
        // 2^43 + 1 bytes would otherwise be hashed in full first).
        throw new LimitError(`${entry.input}: ${entry.displayName}`, `${entry.size} bytes is more than a composefs image can describe (${EXTERNAL_SIZE_MAX})`);
      } else if (entry.size > INLINE_CONTENT_MAX) {
        let hashed: Promise<void>;
        if (entry.data) {
          digest.bytes(entry.data);
          hashed = Promise.resolve();
        } else {
          hashed = digest.file(entry.fd, entry.size, `${entry.input}: ${entry.displayName}`);
        }
        await builder.external(entry.size, storeFile(repo, entry, options, hashed));
        done += entry.size;
      } else {
        const data = entry.data ?? Buffer.alloc(0);
        if (!entry.checked) checkContent(entry, data);
        digest.bytes(data);
        await builder.inline(data);
        done += entry.size;
      }
      options.progress?.(done);
    }
    const rebuilt = await digest.finish();
    if (rebuilt !== diffId) {
      throw new IntegrityError(
        label,
        `the tar rebuilt from containers-storage layer ${shortId(layer.id)} (${digest.size} bytes) has digest ${rebuilt}, not its diff_id: ` +
          'its tar-split metadata or its files are damaged',
      );
    }
  } catch (err) {
    await builder.abort();
    await digest.finish().catch(() => undefined);
    throw err;
  }
  return builder.commit(layerContentId(diffId));
}
