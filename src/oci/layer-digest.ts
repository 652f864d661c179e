/**
 * The digest of what a layer stream reassembles to, read and discarded:
 * checked against the diff_id where a stream arrives by another way than
 * an import that hashes as it goes (oci copy's object copies, a config ref
 * to a stream not named after its diff_id in oci fsck).
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { IntegrityError } from '../../common/index.js';
import { toObjectId, type ObjectId, type Repository } from '../repository/index.js';
import { CONTENT_TYPES, reassemble } from '../splitstream/index.js';

/** `sha256:<hex>` (or sha512, as the diff_id) of layer stream `streamId`'s content. */
export async function layerStreamDigest(repo: Repository, streamId: ObjectId, diffId: string): Promise<string> {
  const algorithm = diffId.startsWith('sha512:') ? 'sha512' : 'sha256';
  const hash = createHash(algorithm);
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  const stream = await repo.streams.open(streamId, { contentType: CONTENT_TYPES.ociLayer });
  try {
    await reassemble(stream.reader, (id) => repo.streams.openObject(toObjectId(id), false), discard, (d) => hash.update(d));
  } finally {
    await stream.close();
  }
  return `${algorithm}:${hash.digest('hex')}`;
}

/** The same, an IntegrityError naming `input` when it is not `diffId`. */
export async function checkLayerStreamDigest(repo: Repository, streamId: ObjectId, diffId: string, input: string): Promise<void> {
  const got = await layerStreamDigest(repo, streamId, diffId);
  if (got !== diffId) throw new IntegrityError(input, `its layer stream reassembles to ${got}, not the diff_id ${diffId}: the source layer is damaged`);
}
