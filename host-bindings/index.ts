/** Typed wrapper over cfskit's Linux system-call addon. */
export { hostAvailability, HostUnavailableError, type Target } from './native.js';
export { enableVerity, measureVerity, VerityNotEnabledError, VerityUnsupportedError, type VerityMeasurement } from './verity.js';
