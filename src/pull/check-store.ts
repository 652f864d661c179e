/**
 * What stage 1 left in the store, checked before stage 2 trusts it: the
 * config is the image ID's (its sha256), the manifest's sha256 is a
 * digest the store records for the image and the manifest names that
 * config, a digest the reference pinned is the image's, and the layer
 * chain matches the config's diff_ids one for one, each layer's diff
 * digest (which containers-storage computed while it wrote the layer) the
 * diff_id at its place. Stage 2 then checks every file against tar-split.
 */
import { ContainersStorage, type StoredImage } from '../cstor/index.js';
import { InputError, IntegrityError, NotFoundError } from '../../common/index.js';
import { parseConfig, parseManifest, sha256Digest, type ImageManifest } from '../oci/index.js';

export interface CheckedImage {
  readonly image: StoredImage;
  readonly manifestDigest: string;
  readonly configDigest: string;
  readonly manifest: ImageManifest;
}

/** A digest `reference` pins (`…@sha256:…`), if any. */
export function pinnedDigest(reference: string): string | undefined {
  const at = reference.lastIndexOf('@');
  const digest = at >= 0 ? reference.slice(at + 1) : '';
  return /^sha256:[0-9a-f]{64}$/.test(digest) ? digest : undefined;
}

export async function checkStoredImage(storage: ContainersStorage, image: StoredImage, reference: string, root: string): Promise<CheckedImage> {
  const label = `${root}: image ${image.id.slice(0, 12)} (${reference})`;
  const config = await storage.config(image);
  if (!config) throw new NotFoundError(label, 'has no config in the store');
  const manifestBytes = await storage.manifest(image);
  if (!manifestBytes) throw new NotFoundError(label, 'has no manifest in the store');
  const configDigest = sha256Digest(config);
  if (configDigest !== `sha256:${image.id}`) throw new IntegrityError(label, `its config's sha256 is ${configDigest}, not its image ID`);
  const manifestDigest = sha256Digest(manifestBytes);
  if (image.digests.length > 0 && !image.digests.includes(manifestDigest)) {
    throw new IntegrityError(label, `its manifest's sha256 is ${manifestDigest}, which the store does not record for it (${image.digests.join(', ')})`);
  }
  const manifest = parseManifest(manifestBytes, `${label}: manifest`);
  if (manifest.config.digest !== configDigest) throw new IntegrityError(label, `its manifest names config ${manifest.config.digest}, the store holds ${configDigest}`);
  const pinned = pinnedDigest(reference);
  if (pinned !== undefined && !image.digests.includes(pinned)) {
    throw new IntegrityError(label, `the reference pins ${pinned}, the store's image has ${image.digests.join(', ') || 'no recorded digest'}`);
  }
  const diffIds = parseConfig(config, `${label}: config`).diffIds;
  const layers = await storage.imageLayers(image);
  if (layers.length !== diffIds.length || manifest.layers.length !== diffIds.length) {
    throw new InputError(label, `${layers.length} layers in the store, ${manifest.layers.length} in its manifest, ${diffIds.length} diff_ids in its config`);
  }
  layers.forEach((layer, i) => {
    const diffId = diffIds[i] ?? '';
    if (layer.diffDigest !== diffId) {
      throw new IntegrityError(`${root}: layer ${i + 1} (${layer.id})`, `its diff digest is ${layer.diffDigest ?? 'not recorded'}, the config's diff_id is ${diffId}`);
    }
  });
  return { image, manifestDigest, configDigest, manifest };
}
