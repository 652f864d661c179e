/** Mounting composefs images from a repository (Linux, root). */
export { mountImage, unmountImage, requireRoot, SOURCE_PREFIX, type MountOptions, type MountedImage, type UnmountedImage } from './composefs.js';
export { loopBindings, parseMountinfo, readMountinfo, topMountAt, type LoopBinding, type MountEntry } from './mountinfo.js';
export { mountOciImage, type OciMountOptions } from './oci-image.js';
