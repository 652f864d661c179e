/** The kernel's own fs-verity measurement of a file (Linux, through the addon). */
export { measureVerity, type VerityMeasurement } from '../../host-bindings/index.js';
