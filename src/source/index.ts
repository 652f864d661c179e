/** Image sources a pull reads without a container engine: OCI layouts, archives, registries. */
export { openSource, isSourceReference, splitPathTag, TRANSPORTS } from './transport.js';
export type { ImageSource, BlobDescriptor, ResolvedManifest } from './image-source.js';
export type { RegistrySourceOptions } from './registry-source.js';
export { hostPlatform, parsePlatform, formatPlatform, platformRank, type Platform } from './platform.js';
export { classifyDocument, choosePlatform, resolveToManifest, REF_NAME, type IndexEntry } from './select.js';
export { MAX_CONFIG, readConfigBlob, VerifiedBlob } from './verified-blob.js';
export { TarArchive, type ArchiveMember } from './tar-archive.js';
export { LAYER_TYPES, CONFIG_TYPES, MANIFEST_TYPES, INDEX_TYPES } from './media-types.js';
