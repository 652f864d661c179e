/** Typed wrapper over cfskit's Linux system-call addon. */
export { hostAvailability, HostUnavailableError, type PathArg, type Target } from './native.js';
export { enableVerity, measureVerity, VerityNotEnabledError, VerityUnsupportedError, type VerityMeasurement } from './verity.js';
export { copyFileRange, ficlone, fsyncFd, linkFile, linkTmpfile, openTmpfile, renameNoReplace, reopenReadOnly, syncfs } from './files.js';
export { statx, type Statx } from './stat.js';
export { flock, LockBusyError, type FlockMode } from './lock.js';
export { storeObject, writeObject, type StoreMethodName, type StoreObjectRequest, type StoreObjectResult, type StoreOutcome, type WriteObjectRequest } from './store.js';
export { fsConfigCreate, fsConfigFlag, fsConfigString, fsMount, fsOpen, loopAttach, moveMount, unmount, type LoopDevice } from './mount.js';
