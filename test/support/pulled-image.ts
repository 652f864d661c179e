/**
 * Checks of an image a pull left in a repository, in-process through the
 * library (cheaper than a CLI run per layer): each layer stream rebuilds
 * its tar byte for byte, the composefs image is the one compute-id makes,
 * fsck finds nothing wrong.
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import * as assert from 'uvu/assert';
import { computeOciImageId, layerContentId } from '../../src/oci/index.js';
import { fsck } from '../../src/repository/fsck.js';
import { Repository } from '../../src/repository/index.js';
import { CONTENT_TYPES } from '../../src/splitstream/index.js';

const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** The tar a layer stream rebuilds. */
export async function layerTar(repo: Repository, diffId: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  await repo.streams.cat(layerContentId(diffId), sink, { contentType: CONTENT_TYPES.ociLayer });
  return Buffer.concat(chunks);
}

export async function checkPulledImage(repoPath: string, tag: string, composefsImage: string | null, layers: readonly Buffer[]): Promise<void> {
  const repo = await Repository.open(repoPath);
  try {
    for (const tar of layers) {
      const back = await layerTar(repo, sha256(tar));
      assert.ok(back.equals(tar), `layer ${sha256(tar)} rebuilt byte for byte`);
    }
    assert.is((await computeOciImageId(repo, tag)).hex, composefsImage, `${tag}: composefs image = compute-id`);
    const report = await fsck(repo);
    assert.ok(report.ok, JSON.stringify(report.problems));
  } finally {
    await repo.close();
  }
}
