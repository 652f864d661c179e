/**
 * What a deployment needs from the two stores, and whether they have it:
 * its manifest (from the origin; for origins older than that key, the
 * tagged image whose config names the deployment's composefs image, as
 * bootc's GC finds it), whether the repository holds the whole image
 * (tag, manifest, config, layers, composefs image), and the images it
 * binds, read from its composefs image in the repository.
 */
import { CfskitError, InputError } from '../../common/index.js';
import { openStoredImage, openImage } from '../image/index.js';
import { manifestContentId, openImageStreams, type ImageStreams } from '../oci/index.js';
import { readBoundImages, type BoundImage } from './bound-images.js';
import type { Deployment } from './deployments.js';
import { bootcTag } from './layout.js';
import type { BootcTag } from './tags.js';
import { isObjectId, objectRelPath, type Repository, openObjectFile } from '../repository/index.js';

export interface RepositoryImageState {
  readonly tag: boolean;
  readonly manifest: boolean;
  readonly config: boolean;
  readonly layers: boolean;
  /** The deployment's composefs image (`images/<deployment id>`). */
  readonly composefsImage: boolean;
  readonly whole: boolean;
}

export interface DeploymentNeeds {
  readonly deployment: Deployment;
  /** Undefined when neither the origin nor any tagged image tells. */
  readonly manifestDigest: string | undefined;
  readonly manifestFrom: 'origin' | 'tagged image' | undefined;
  readonly repository: RepositoryImageState;
  /** Undefined when they cannot be known (`problems` says why). */
  readonly boundImages: readonly BoundImage[] | undefined;
  readonly problems: readonly string[];
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** Every composefs image a config names (all `composefs.image*` refs). */
const imageRefsOf = (image: ImageStreams): string[] => [...image.imageRefs.values()];

async function manifestFor(repo: Repository, deployment: Deployment, tags: readonly BootcTag[]): Promise<Pick<DeploymentNeeds, 'manifestDigest' | 'manifestFrom'>> {
  if (deployment.origin?.manifestDigest !== undefined) return { manifestDigest: deployment.origin.manifestDigest, manifestFrom: 'origin' };
  // A missing origin tells nothing; an old one without the key, the tags may.
  if (deployment.origin === undefined) return { manifestDigest: undefined, manifestFrom: undefined };
  for (const tag of tags) {
    const image = await openImageStreams(repo, `@${tag.manifestDigest}`).catch(() => undefined);
    if (image !== undefined && imageRefsOf(image).includes(deployment.id)) return { manifestDigest: tag.manifestDigest, manifestFrom: 'tagged image' };
  }
  return { manifestDigest: undefined, manifestFrom: undefined };
}

async function repositoryState(repo: Repository, deployment: Deployment, manifestDigest: string | undefined, tags: readonly BootcTag[], problems: string[]): Promise<RepositoryImageState> {
  let composefsImage = false;
  if (isObjectId(deployment.id, repo.hashAlg)) {
    const id = await repo.images.resolve(deployment.id).then((r) => r.id, () => undefined);
    composefsImage = id !== undefined && (await repo.objects.has(id));
  }
  if (!composefsImage) problems.push(`its composefs image ${deployment.id} is not in the repository`);
  if (manifestDigest === undefined) return { tag: false, manifest: false, config: false, layers: false, composefsImage, whole: false };
  const tagName = bootcTag(manifestDigest);
  const tag = tags.some((t) => t.tag === tagName && t.pointsAtManifest);
  const manifest = (await repo.streams.has(manifestContentId(manifestDigest))) !== undefined;
  let config = false;
  let layers = false;
  if (manifest) {
    try {
      const image = await openImageStreams(repo, `@${manifestDigest}`);
      config = true;
      const missing: string[] = [];
      for (const diffId of image.diffIds) {
        const id = image.layerRefs.get(diffId);
        if (id === undefined || !(await repo.objects.has(id))) missing.push(diffId);
      }
      layers = missing.length === 0;
      if (!layers) problems.push(`layers missing from the repository: ${missing.join(', ')}`);
    } catch (err) {
      problems.push(`image ${manifestDigest}: ${message(err)}`);
    }
  } else {
    problems.push(`its image ${manifestDigest} is not in the repository`);
  }
  return { tag, manifest, config, layers, composefsImage, whole: tag && manifest && config && layers && composefsImage };
}

/** The bound images of the deployment's composefs image, verified against its ID before being read. */
async function boundImagesOf(repo: Repository, deployment: Deployment): Promise<BoundImage[]> {
  const stored = await openStoredImage(repo, deployment.id);
  let bytes: Buffer;
  try {
    bytes = await stored.handle.readFile();
  } finally {
    await stored.handle.close();
  }
  const name = `image ${deployment.id.slice(0, 12)}…`;
  const image = openImage(bytes, { hashAlg: repo.hashAlg, name });
  try {
    return await readBoundImages(
      image,
      async (objectId, size, what) => {
        const handle = await openObjectFile(repo.path, objectId);
        try {
          const data = await handle.readFile();
          if (data.length !== size) throw new InputError(what, `object ${objectRelPath(objectId)} is ${data.length} bytes, the image says ${size}`);
          return data;
        } finally {
          await handle.close();
        }
      },
      name,
    );
  } finally {
    image.close();
  }
}

export async function inspectDeployment(repo: Repository, deployment: Deployment, tags: readonly BootcTag[]): Promise<DeploymentNeeds> {
  const problems: string[] = deployment.problem === undefined ? [] : [deployment.problem];
  const { manifestDigest, manifestFrom } = await manifestFor(repo, deployment, tags);
  if (manifestDigest === undefined && deployment.origin !== undefined) problems.push('its origin names no manifest digest and no tagged image holds its composefs image');
  const repository = await repositoryState(repo, deployment, manifestDigest, tags, problems);
  let boundImages: BoundImage[] | undefined;
  if (repository.composefsImage) {
    try {
      boundImages = await boundImagesOf(repo, deployment);
    } catch (err) {
      if (!(err instanceof CfskitError)) throw err;
      problems.push(`bound images: ${err.message}`);
    }
  } else {
    problems.push('its bound images cannot be read (no composefs image)');
  }
  return { deployment, manifestDigest, manifestFrom, repository, boundImages, problems };
}
