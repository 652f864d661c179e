/** cfskit's library API. */
export * from './errors.js';
export { digestBytes, digestFile, formatDigest, closeDigestWorkers, type DigestFileOptions, type FileDigest } from './fsverity/digest.js';
export { resolveParams, HASH_ALGS, type HashAlg, type VerityOptions, type VerityParams } from './fsverity/params.js';
export {
  CONTENT_TYPES,
  describeContentType,
  SplitstreamWriter,
  openSplitstream,
  reassemble,
  type FinishedSplitstream,
  type OpenObject,
  type SplitstreamChunk,
  type SplitstreamExpectations,
  type SplitstreamInfo,
  type SplitstreamReader,
  type SplitstreamWriterOptions,
} from './splitstream/index.js';
export { computeImageId, createDumpfile, createImage, imageFromDumpfile, imageFromDumpfileFile, type ComposefsImage, type ImageId } from './image/compute.js';
export { openImage, openImageFile, ComposefsImageFile, type ImageStat, type ImagePath } from './image/reader.js';
export { scanTree, scanTreeWithFiles, closeScanWorkers, INLINE_CONTENT_MAX, type ExternalFile, type ScanOptions } from './image/scan.js';
export { createRepositoryImage, type CreateImageOptions, type CreatedImage } from './image/commit.js';
export { openStoredImage, readStoredImage, type StoredImageFile } from './image/stored.js';
export {
  mountImage, mountOciImage, unmountImage, SOURCE_PREFIX, loopBindings, parseMountinfo, readMountinfo, topMountAt,
  type MountOptions, type OciMountOptions, type MountedImage, type UnmountedImage, type LoopBinding, type MountEntry,
} from './mount/index.js';
export {
  ContainersStorage, locateStores, normalizeName, parseReference, readLayerEntries, layerTarChunks, writeLayerTar, ContentCheck, SMALL_FILE,
  type StorageOptions, type StoreLocation, type StoredImage, type StoredLayer, type ImageReference,
  type LayerEntry, type LayerFile, type LayerSegment, type LayerEntryOptions, type ContentClaim, type LayerTarOptions, type LayerTarResult,
} from './cstor/index.js';
export { splitTar, TarSplitter, type TarEntry, type TarEntryType, type TarEvent } from './tar/split.js';
export {
  Repository, ImportContext, ObjectStore, StreamStore, ImageStore, RepositoryBusyError, expectVerified, isObjectId, objectRelPath, toObjectId,
  type InitOptions, type OpenOptions, type Security, type StoreMethod, type StoreStrategy, type StoredObject, type ObjectId,
} from './repository/index.js';
export { fsck, type FsckReport, type FsckProgress } from './repository/fsck.js';
export {
  pullFromSource, type SourcePullOptions,
  pullFromContainersStorage, importTarLayer, listImages, openImage as openOciImage, tagImage, untagImage, ImportStats, CSTOR_PREFIX,
  type PullOptions, type PullResult, type TarLayerResult, type ImageListing, type OciImage, type ProgressEvent, type ProgressSink,
} from './oci/index.js';
export {
  ensureImage, computeOciImageId, createOciImage, writeOciDumpfile, layerEntries, layerInfo, writeLayerDumpfile, openImageStreams,
  IMAGE_REF, BOOT_IMAGE_REF,
  type EnsureImageOptions, type EnsuredImage, type ImageTreeOptions, type ImageStreams, type LayerInfo,
} from './oci/index.js';
export {
  openSource, isSourceReference, hostPlatform, parsePlatform, formatPlatform,
  type ImageSource, type BlobDescriptor, type ResolvedManifest, type Platform, type RegistrySourceOptions,
} from './source/index.js';
export { findCredentials, parseCreds, type Credentials, type RetryPolicy, type TlsSettings } from './registry/index.js';
export {
  JsonlProgressWriter, PROTOCOL_VERSION,
  type TaskEvent, type TaskSink, type ProtocolEvent, type ProgressBytesEvent, type ProgressStepsEvent, type SubTaskBytes, type SubTaskStep,
} from './progress/index.js';
export { pullIntoStorage, checkStoredImage, type StoragePullOptions, type StoragePullResult, type CheckedImage } from './pull/index.js';
export { fetchIntoStore, ensureStore, copyBetweenStores, defaultRunRoot, type BlobReport, type FetchOptions, type FetchResult, type FetchMethod, type StoreLocation as PodmanStoreLocation } from './podman/index.js';
export { gc, TRANSACTION_ENV, type GcOptions, type GcProgress, type GcResult, type MountedImage as GcMountedImage, type MissingObject } from './gc/index.js';
export {
  sysrootStatus, sysrootGc, SysrootLayout, bootcTag, prepareSystemStore, STORAGE_RUNROOT, describePodmanConfig, writeDropin,
  type SysrootStatus, type DeploymentStatus, type SysrootGcOptions, type SysrootGcResult,
} from './sysroot/index.js';
