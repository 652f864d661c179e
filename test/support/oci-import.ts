/**
 * An OCI image from in-memory layer tars, stored as a pull stores one:
 * layer streams, the config and manifest streams, the tag. For tests and
 * benches that need an image without a containers-storage.
 */
import { importTarLayer, manifestContentId, sha256Digest, tagRef } from '../../src/oci/index.js';
import { writeConfigStream, writeManifestStream, type LayerRef } from '../../src/oci/image-streams.js';
import type { Repository } from '../../src/repository/index.js';
import { ociDocuments } from './oci-image-fixtures.js';

async function* once(data: Buffer): AsyncGenerator<Uint8Array> {
  yield data;
}

export async function importLayers(repo: Repository, tag: string, layers: readonly Buffer[]): Promise<{ tag: string; refs: LayerRef[] }> {
  const docs = ociDocuments(layers);
  const refs: LayerRef[] = [];
  for (const [i, tar] of layers.entries()) {
    const diffId = docs.diffIds[i] ?? '';
    refs.push({ diffId, streamId: (await importTarLayer(repo, diffId, once(tar))).streamId });
  }
  const configDigest = sha256Digest(docs.config);
  const configStream = await writeConfigStream(repo, docs.config, configDigest, refs);
  const manifestDigest = sha256Digest(docs.manifest);
  await writeManifestStream(repo, docs.manifest, manifestDigest, { digest: configDigest, streamId: configStream }, refs);
  await repo.streams.setRef(tagRef(tag), manifestContentId(manifestDigest));
  return { tag, refs };
}
