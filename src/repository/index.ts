/** The composefs repository: objects, streams, images, refs, fsck. */
export { Repository, type EnsureStatus, type InitOptions, type OpenOptions, type Security } from './repository.js';
export { expectVerified, ImportContext, ObjectStore, type ContentVerifier, type Verification, type VerifySource, type FromFileOptions, type StoreOutcome, type StoreStrategy, type StoredObject } from './objects.js';
export { ObjectWriter } from './object-writer.js';
export { StreamStore, type OpenedStream, type StreamRef } from './streams.js';
export { ImageStore } from './images.js';
export { repositoryPath, SYSTEM_REPOSITORY, userRepository, type LocationOptions } from './location.js';
export { ALGORITHMS, type Algorithm } from './meta.js';
export { decodeTag, encodeTag, checkRefName, checkContentId } from './names.js';
export { isObjectId, objectIdBytes, objectRelPath, toObjectId, type ObjectId } from './object-id.js';
export { resolveLink, openObjectFile, type Resolved } from './links.js';
export { readRepoLink, entriesBelow } from './symlinks.js';
export { RepoDir } from './repo-dir.js';
export { describeFsckProblem, fsck, fsckCounts, type FsckProgress, type FsckReport } from './fsck.js';
export { claimOf, STREAM_PREFIXES, type StreamClaim, type StreamRole } from './stream-claims.js';
