/** Garbage collection of a composefs repository (see docs/gc.md). */
export { gc, collect, planCollection, applyCollection, withExclusiveLock, TRANSACTION_ENV, type CollectionPlan, type GcOptions, type GcProgress, type GcResult } from './gc.js';
export { mountedImages, composefsSources, loopObjects, type MountedImage } from './mounted.js';
export { findReachable, type MissingObject, type Reachable, type Root } from './reachable.js';
