/**
 * Typed wrapper over cfskit's Linux system-call addon. Its errors are
 * common/'s classes (HostUnavailableError, SystemError, VerityUnsupportedError, ...).
 */
export { hostAvailability, type PathArg, type Target } from './native.js';
export { enableVerity, measureVerity, type VerityMeasurement } from './verity.js';
export { copyFileRange, ficlone, fsyncFd, linkFile, linkTmpfile, openTmpfile, renameNoReplace, reopenReadOnly, syncfs } from './files.js';
export { statx, type Statx } from './stat.js';
export { linkFdBeneath, mkdirsBeneath, openBeneath, openBeneathSync, readlinkBeneath, renameBeneath, symlinkBeneath, unlinkBeneath } from './beneath.js';
export { flock, type FlockMode } from './lock.js';
export { storeObject, writeObject, type StoreObjectRequest, type StoreObjectResult, type StoreStatus, type StoreStrategy, type WriteObjectRequest } from './store.js';
export { readXattrs, type HostXattr } from './xattr.js';
export { fsConfigCreate, fsConfigFlag, fsConfigString, fsMount, fsOpen, loopAttach, moveMount, unmount, type LoopDevice } from './mount.js';
