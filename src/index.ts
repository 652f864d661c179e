/** cfskit's library API. */
export * from './errors.js';
export { digestBytes, digestFile, formatDigest, closeDigestWorkers, type DigestFileOptions, type FileDigest } from './fsverity/digest.js';
export { resolveParams, HASH_ALGS, type HashAlg, type VerityOptions, type VerityParams } from './fsverity/params.js';
export {
  ContainersStorage, locateStores, normalizeName, parseReference, readLayerEntries, layerTarChunks, writeLayerTar, ContentCheck, SMALL_FILE,
  type StorageOptions, type StoreLocation, type StoredImage, type StoredLayer, type ImageReference,
  type LayerEntry, type LayerFile, type LayerSegment, type LayerEntryOptions, type ContentClaim, type LayerTarOptions, type LayerTarResult,
} from './cstor/index.js';
export { splitTar, TarSplitter, type TarEntry, type TarEntryType, type TarEvent } from './tar/split.js';
