/** OCI images in a composefs repository: import, tags, inspection. */
export { pullFromContainersStorage, CSTOR_PREFIX, type PullOptions, type PullResult } from './cstor-pull.js';
export { pullFromSource, DEFAULT_CONCURRENCY, type SourcePullOptions } from './source-pull.js';
export { importTarLayer, type TarLayerResult } from './tar-layer.js';
export { listImages, openImage, resolveImageName, tagImage, untagImage, readSmallStream, type ImageListing, type OciImage } from './images.js';
export { ImportStats } from './stats.js';
export type { ProgressEvent, ProgressSink } from './progress.js';
export { checkDigest, configContentId, layerContentId, manifestContentId, sha256Digest, tagRef } from './identifiers.js';
export { parseConfig, parseDocumentObject, parseManifest, type Descriptor, type ImageConfig, type ImageManifest } from './documents.js';
export { layerEntries, layerInfo, writeLayerDumpfile, splitstreamLayerEntries, type LayerEntry, type LayerInfo } from './layer-entries.js';
export { openImageStreams, imageRefOf, type ImageStreams } from './image-open.js';
export {
  imageRefName, imageRefNames, imageVariant, isImageRefName, parseImageRefName, IMAGE_REF_PREFIX, BOOT_IMAGE_REF_PREFIX, type ImageVariant,
} from './image-refs.js';
export { buildImageTree, computeOciImageId, createOciImage, writeOciDumpfile, transformForBoot, type ImageTreeOptions, type ImageBytesOptions } from './image-tree.js';
export { ensureImage, rewriteImageStreams, orderedLayerRefs, refsFor, type EnsureImageOptions, type EnsuredImage } from './ensure-image.js';
export { findMatchingBootImage, type BootImageMatch } from './boot-match.js';
export { ociFsck, describeOciProblem, type OciFsckReport, type OciFsckOptions, type OciProblem, type OciProblemKind } from './fsck.js';
export { copyImage, type CopyOptions, type CopyResult } from './copy.js';
