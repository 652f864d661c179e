/** Real podman and skopeo on one containers-storage store: bounded runs, the transient API service, stage 1 of the unified pull. */
export { runBounded, storeArgs, storeTransport, withStoreEnv, podmanMessage, missingBinary, track, DEFAULT_TIMEOUT_MS, type Ran, type RunOptions, type StoreLocation } from './run.js';
export { PodmanService, withPodmanService, readAll, SERVICE_START_MS, type ApiVersion, type ServiceOptions } from './service.js';
export { parseCompatReport, parseLibpodReport, parsePullLine, type BlobReport } from './reports.js';
export { readRegistriesConf, withInsecureRegistry, writeInsecureRegistriesConf } from './registries-conf.js';
export { fetchIntoStore, hasPullProgress, registryHost, stageOneError, DOCKER_TRANSPORT, PULL_TIMEOUT_MS, type FetchOptions, type FetchMethod, type FetchResult } from './fetch.js';
export { ensureStore, defaultRunRoot, storeLocation } from './store.js';
export { copyBetweenStores, type CopyOptions } from './copy.js';
