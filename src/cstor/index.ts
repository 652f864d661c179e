/** Read-only access to containers-storage (podman, buildah, skopeo). */
export { locateStores, readStorageConf, storageOptsImageStores, type StorageOptions, type StoreLocation } from './config.js';
export { ContainersStorage, shortId, type StoredImage, type StoredLayer } from './storage.js';
export { Store, bigDataFileName } from './store.js';
export type { ImageRecord, LayerRecord } from './records.js';
export { parseReference, normalizeName, formatReference, candidateNames, type ImageReference } from './reference.js';
export { closeContentWorkers } from './content-batcher.js';
export { readLayerEntries, WHOLE_READ_MAX, type LayerEntry, type LayerFile, type LayerSegment, type LayerEntryOptions } from './layer-entries.js';
export { ContentCheck, checkContent, readContent, tarSplitVerifier, READ_CHUNK, type ContentClaim, type VerifiedSource } from './content.js';
export { layerTarChunks, writeLayerTar, type LayerTarOptions, type LayerTarResult } from './layer-tar.js';
