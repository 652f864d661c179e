/**
 * Repositories for garbage-collection tests, built together with a model of
 * what each image needs, so a test can compute the reachable set without
 * the code under test: every object of an image is known from how it was
 * made (file contents, JSON documents, the links a pull leaves), never by
 * walking its streams.
 *
 * An image here is layers from a shared pool (bases shared between
 * images, plus a layer of its own), its config and manifest streams, a
 * tag or none, its composefs image (and the bootable one) or none, and
 * optionally an extra EROFS image under another `composefs.image…` ref of
 * the config, holding an object nothing else holds: garbage collection
 * must follow every `composefs.image*` ref, not only the two it knows.
 */
import { digestBytes } from '../../src/fsverity/digest.js';
import { imageFromDumpfile } from '../../src/image/compute.js';
import { ensureImage, importTarLayer, manifestContentId, sha256Digest, tagRef, layerContentId, configContentId, openImageStreams, orderedLayerRefs } from '../../src/oci/index.js';
import { writeConfigStream, writeManifestStream, type LayerRef } from '../../src/oci/image-streams.js';
import type { Repository } from '../../src/repository/index.js';
import { ociDocuments } from './oci-image-fixtures.js';
import { pattern } from './pattern.js';
import { dir, file, tarBytes, type TarMember } from './tar-writer.js';

/** Files above this size are objects; the rest lives inline (splitstreams and EROFS both). */
const INLINE_MAX = 64;

export const objectId = (data: Uint8Array): string => Buffer.from(digestBytes(data, { hashAlg: 'sha512' })).toString('hex');

export interface ModelLayer {
  readonly tar: Buffer;
  readonly diffId: string;
  /** path → content of the regular files it adds. */
  readonly files: ReadonlyMap<string, Buffer>;
}

export interface ModelImage {
  readonly label: string;
  readonly layers: readonly ModelLayer[];
  readonly manifestDigest: string;
  readonly config: Buffer;
  readonly manifest: Buffer;
  tag: string | undefined;
  imageId: string | undefined;
  bootId: string | undefined;
  extra: { readonly id: string; readonly objectId: string } | undefined;
}

/** A layer of `count` files below `prefix`, sizes spread across the inline limit. */
export function makeLayer(prefix: string, count: number, seed: number, withUsr = false): ModelLayer {
  const members: TarMember[] = withUsr ? [dir('usr'), dir('usr/bin'), dir('etc'), dir('boot'), dir('sysroot')] : [];
  members.push(dir(prefix));
  const files = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const size = i % 3 === 0 ? 20 + (i % 40) : 200 + ((seed * 131 + i * 977) % 9000);
    const data = pattern(size, seed * 7919 + i);
    const path = `${prefix}/f${i}`;
    files.set(`/${path}`, data);
    members.push(file(path, data));
  }
  const tar = tarBytes(members);
  return { tar, diffId: sha256Digest(tar), files };
}

async function* once(data: Buffer): AsyncGenerator<Uint8Array> {
  yield data;
}

/** The image these layers make, before anything is stored (config and manifest as importModelImage writes them). */
export function describeModelImage(label: string, layers: readonly ModelLayer[], tag: string | undefined): ModelImage {
  const docs = ociDocuments(layers.map((l) => l.tar));
  const manifestDigest = sha256Digest(docs.manifest);
  return { label, layers, manifestDigest, config: docs.config, manifest: docs.manifest, tag, imageId: undefined, bootId: undefined, extra: undefined };
}

/** Imports the layers (once each), the config and manifest streams, the tag. */
export async function importModelImage(repo: Repository, label: string, layers: readonly ModelLayer[], tag: string | undefined): Promise<ModelImage> {
  const image = describeModelImage(label, layers, tag);
  const refs: LayerRef[] = [];
  for (const layer of layers) {
    const existing = await repo.streams.has(layerContentId(layer.diffId));
    refs.push({ diffId: layer.diffId, streamId: existing ?? (await importTarLayer(repo, layer.diffId, once(layer.tar))).streamId });
  }
  const configDigest = sha256Digest(image.config);
  const configStream = await writeConfigStream(repo, image.config, configDigest, refs);
  await writeManifestStream(repo, image.manifest, image.manifestDigest, { digest: configDigest, streamId: configStream }, refs);
  if (tag !== undefined) await repo.streams.setRef(tagRef(tag), manifestContentId(image.manifestDigest));
  return image;
}

export async function addComposefsImage(repo: Repository, image: ModelImage, bootable: boolean): Promise<void> {
  const ensured = await ensureImage(repo, `@${image.manifestDigest}`, { bootable });
  if (ensured === undefined) throw new Error('not a container image');
  if (bootable) image.bootId = ensured.imageId;
  else image.imageId = ensured.imageId;
}

/**
 * An EROFS image of one file holding `data` (an object nothing else has),
 * named by the config under `refName` (a composefs.image… variant).
 */
export async function addExtraImageRef(repo: Repository, image: ModelImage, refName: string, data: Buffer): Promise<void> {
  const stored = await repo.objects.ensureObject(data);
  const dump = `/ 0 40755 2 0 0 0 0.0 - - -\n/extra ${data.length} 100644 1 0 0 0 0.0 ${stored.id.slice(0, 2)}/${stored.id.slice(2)} - ${stored.id}\n`;
  const erofs = imageFromDumpfile(dump, { hashAlg: 'sha512' });
  const written = await repo.images.write(Buffer.from(erofs.bytes));
  const streams = await openImageStreams(repo, `@${image.manifestDigest}`);
  if (streams.imageRefs.has(refName)) throw new Error(`${image.label}: ${refName} already names an image`);
  const extra = new Map<string, string>(streams.imageRefs);
  extra.set(refName, written.id);
  const layers = orderedLayerRefs(streams);
  const configStream = await writeConfigStream(repo, streams.configJson, streams.configDigest, layers, extra);
  await writeManifestStream(repo, streams.manifestJson, streams.manifestDigest, { digest: streams.configDigest, streamId: configStream }, layers);
  image.extra = { id: written.id, objectId: stored.id };
}

/** The files of the merged tree (layers only add files here) that are objects. */
export function imageFileObjects(image: ModelImage): string[] {
  const ids: string[] = [];
  for (const layer of image.layers) for (const data of layer.files.values()) if (data.length > INLINE_MAX) ids.push(objectId(data));
  return ids;
}

/** What a mounted composefs image keeps: itself and its files' objects. */
export function mountedNeeds(image: ModelImage): string[] {
  if (image.imageId === undefined) throw new Error(`${image.label} has no composefs image to mount`);
  return [image.imageId, ...imageFileObjects(image)];
}

/** Everything a tagged image keeps, from the links a pull leaves and the contents it was made from. */
export async function taggedNeeds(repo: Repository, image: ModelImage): Promise<string[]> {
  const linked = async (contentId: string): Promise<string> => {
    const id = await repo.streams.has(contentId);
    if (id === undefined) throw new Error(`${image.label}: no stream ${contentId}`);
    return id;
  };
  const ids = [
    objectId(image.manifest),
    objectId(image.config),
    await linked(manifestContentId(image.manifestDigest)),
    await linked(configContentId(sha256Digest(image.config))),
    ...imageFileObjects(image),
  ];
  for (const layer of image.layers) ids.push(await linked(layerContentId(layer.diffId)));
  if (image.imageId !== undefined) ids.push(image.imageId);
  if (image.bootId !== undefined) ids.push(image.bootId);
  if (image.extra !== undefined) ids.push(image.extra.id, image.extra.objectId);
  return ids;
}

/** The layers of an image in the concurrency tests: one of a few shared bases, and its own. */
export function concurrencyLayers(base: number, seed: number): ModelLayer[] {
  return [makeLayer(`base${base}`, 30, 1000 + base, true), makeLayer(`own${seed}`, 12, 5000 + seed)];
}
