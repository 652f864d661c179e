/** composefs images of directory trees: scan a directory, compute its image, store it, read images. */
export { pipeBlob, takeBlob } from './blob.js';
export { transformDirectoryTreeForBoot, transformTreeForBoot } from './boot.js';
export { kernelArgument } from './karg.js';
export { createRepositoryImage, type CreateImageOptions, type CreatedImage } from './commit.js';
export { computeImageId, createDumpfile, createImage, imageFromDumpfile, imageFromDumpfileFile, type ComposefsImage, type ImageId } from './compute.js';
export { ComposefsImageFile, imageObjectIds, openImage, openImageFile, type FileType, type ImagePath, type ImageStat } from './reader.js';
export { closeScanWorkers, scanTree, scanTreeWithFiles, type ExternalFile, type ScanOptions } from './scan.js';
export { openStoredImage, readStoredImage, type StoredImageFile } from './stored.js';
