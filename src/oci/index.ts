/** OCI images in a composefs repository: import, tags, inspection. */
export { pullFromContainersStorage, CSTOR_PREFIX, type PullOptions, type PullResult } from './cstor-pull.js';
export { pullFromSource, DEFAULT_CONCURRENCY, type SourcePullOptions } from './source-pull.js';
export { importTarLayer, type TarLayerResult } from './tar-layer.js';
export { listImages, openImage, resolveImageName, tagImage, untagImage, readSmallStream, type ImageListing, type OciImage } from './images.js';
export { ImportStats } from './stats.js';
export type { ProgressEvent, ProgressSink } from './progress.js';
export { checkDigest, configContentId, layerContentId, manifestContentId, sha256Digest, tagRef } from './identifiers.js';
export { parseConfig, parseManifest, type Descriptor, type ImageConfig, type ImageManifest } from './documents.js';
export { layerEntries, layerInfo, writeLayerDumpfile, splitstreamLayerEntries, type LayerEntry, type LayerInfo } from './layer-entries.js';
export { openImageStreams, IMAGE_REF, BOOT_IMAGE_REF, IMAGE_REF_PREFIX, isImageRefName, type ImageStreams } from './image-open.js';
export { buildImageTree, computeOciImageId, createOciImage, writeOciDumpfile, transformForBoot, type ImageTreeOptions } from './image-tree.js';
export { ensureImage, rewriteImageStreams, orderedLayerRefs, type EnsureImageOptions, type EnsuredImage } from './ensure-image.js';
