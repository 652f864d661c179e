/** Registries: the OCI distribution API client, its authentication, TLS and auth files. */
export { RegistryClient, DEFAULT_RETRY, MANIFEST_ACCEPT, type RegistryClientOptions, type RetryPolicy, type FetchedManifest } from './client.js';
export { parseRegistryReference, DOCKER_PREFIX, type RegistryReference } from './reference.js';
export { findCredentials, parseCreds, authFilePaths, lookupKeys, type Credentials, type AuthFileOptions } from './auth-file.js';
export { parseChallenges, type Challenge } from './challenge.js';
export { tlsOptionsFor, type TlsSettings, type TlsOptions } from './tls.js';
