/** Layer blobs' compressions (gzip, zstd, zstd:chunked) undone as streams. */
export { decompressLayer, detectCompression, DEFAULT_MAX_EXPANSION, EXPANSION_FLOOR, type Compression, type DecompressOptions } from './detect.js';
export { gzipDecompress } from './gzip.js';
export { zstdDecompress } from './zstd.js';
