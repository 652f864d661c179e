/** A bootc composefs system seen from its sysroot (see docs/sysroot.md). */
export * from './layout.js';
export { parseOrigin, parseImageReference, type Origin, type ImageSource } from './origin.js';
export { parseIni, iniValue, type IniDocument, type IniSection } from './ini.js';
export { listDeployments, composefsDigest, composefsDigests, stagedId, parseBootEntry, compareBootEntries, type Deployment, type BootStateOptions } from './deployments.js';
export { readBoundImages, parseBoundImageFile, parseSpecValue, resolveInImage, type BoundImage } from './bound-images.js';
export { inspectDeployment, type DeploymentNeeds, type RepositoryImageState } from './inspect.js';
export { SystemStore, type PodmanImage, type PodmanOptions } from './podman.js';
export { prepareSystemStore } from './prepare.js';
export { WantedImages, type StoreImage } from './wanted.js';
export { listBootcTags, type BootcTag } from './tags.js';
export { sysrootStatus, type SysrootStatus, type DeploymentStatus, type BoundImageStatus } from './status.js';
export { sysrootGc, type SysrootGcOptions, type SysrootGcResult, type StoreImageResult } from './gc.js';
export { describePodmanConfig, dropinText, storageOpt, writeDropin, podmanMajor, DROPIN_DIR, DROPIN_NAME, GLOBAL_WARNING } from './podman-config.js';
