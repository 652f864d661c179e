/** OCI images in a composefs repository: import, tags, inspection. */
export { pullFromContainersStorage, CSTOR_PREFIX, type PullOptions, type PullResult } from './cstor-pull.js';
export { importTarLayer, type TarLayerResult } from './tar-layer.js';
export { listImages, openImage, resolveImageName, tagImage, untagImage, readSmallStream, type ImageListing, type OciImage } from './images.js';
export { ImportStats } from './stats.js';
export type { ProgressEvent, ProgressSink } from './progress.js';
export { checkDigest, configContentId, layerContentId, manifestContentId, sha256Digest, tagRef } from './identifiers.js';
export { parseConfig, parseManifest, type ImageConfig, type ImageManifest } from './documents.js';
