/**
 * cfskit's library API: exactly what the README's API table documents
 * (scripts/check-boundaries.mjs compares the two). Everything else in src/
 * is internal and may change.
 */
export {
  AuthError, CancelledError, CfskitError, HostUnavailableError, InputError, IntegrityError, LimitError, LockBusyError, NotFoundError,
  RepositoryBusyError, SystemError, UnsupportedError, UsageError, VerityNotEnabledError, VerityUnsupportedError,
  HASH_ALGS, EROFS_VERSIONS, DEFAULT_EROFS_VERSION, XATTR_MODES, DEFAULT_XATTR_MODE,
  type ErrorCode, type HashAlg, type ErofsVersion, type XattrMode,
} from '../common/index.js';
export {
  closeDigestWorkers, digestBytes, digestFile, formatDigest, measureVerity,
  type DigestFileOptions, type FileDigest, type VerityMeasurement, type VerityOptions,
} from './fsverity/index.js';
export { Repository, fsck, type FsckReport, type InitOptions, type OpenOptions, type Security } from './repository/index.js';
export {
  computeOciImageId, ensureImage, findMatchingBootImage, imageRefName, imageVariant, importTarLayer, listImages, pullFromContainersStorage, tagImage, untagImage, writeOciDumpfile,
  ImportStats, CSTOR_PREFIX,
  type EnsureImageOptions, type EnsuredImage, type ImageVariant, type ImageListing, type ProgressEvent, type ProgressSink, type PullOptions, type PullResult, type TarLayerResult,
} from './oci/index.js';
export { pullFromSource, type SourcePullOptions } from './oci/index.js';
export {
  openSource, isSourceReference, parsePlatform, formatPlatform, hostPlatform,
  type ImageSource, type BlobDescriptor, type ResolvedManifest, type Platform, type RegistrySourceOptions,
} from './source/index.js';
export { findCredentials, parseCreds, type Credentials, type RetryPolicy, type TlsSettings } from './registry/index.js';
export {
  JsonlProgressWriter, PROTOCOL_VERSION,
  type TaskEvent, type TaskSink, type ProtocolEvent, type ProgressBytesEvent, type ProgressStepsEvent, type SubTaskBytes, type SubTaskStep,
} from './progress/index.js';
export { pullIntoStorage, checkStoredImage, type StoragePullOptions, type StoragePullResult, type CheckedImage } from './pull/index.js';
export { fetchIntoStore, ensureStore, copyBetweenStores, defaultRunRoot, type BlobReport, type FetchOptions, type FetchResult, type FetchMethod, type StoreLocation as PodmanStoreLocation } from './podman/index.js';
export {
  computeImageId, createDumpfile, createRepositoryImage, openImageFile, readStoredImage,
  type ComposefsImageFile, type CreateImageOptions, type CreatedImage, type ImageId,
} from './image/index.js';
export { ContainersStorage, writeLayerTar, type StorageOptions, type StoredImage, type StoredLayer } from './cstor/index.js';
export {
  CONTENT_TYPES, SplitstreamWriter, openSplitstream, reassemble,
  type SplitstreamChunk, type SplitstreamReader, type SplitstreamWriterOptions,
} from './splitstream/index.js';
export { mountImage, mountOciImage, unmountImage, type MountedImage, type UnmountedImage } from './mount/index.js';
export { gc, TRANSACTION_ENV, type GcOptions, type GcProgress, type GcResult, type MissingObject } from './gc/index.js';
export {
  sysrootStatus, sysrootGc, SysrootLayout, bootcTag, prepareSystemStore, STORAGE_RUNROOT, describePodmanConfig, writeDropin,
  type SysrootStatus, type DeploymentStatus, type SysrootGcOptions, type SysrootGcResult,
} from './sysroot/index.js';
