/** The unified pull: stage 1 through real podman into a containers-storage, stage 2 the zero-copy import from it. */
export { pullIntoStorage, type StoragePullOptions, type StoragePullResult } from './storage-pull.js';
export { checkStoredImage, pinnedDigest, type CheckedImage } from './check-store.js';
export { planPull, type PullPlan, type PlannedLayer } from './plan.js';
export { PullingTask } from './pulling-task.js';
