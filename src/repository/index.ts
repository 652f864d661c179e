/** The composefs repository: objects, streams, images, refs. */
export { Repository, type InitOptions, type OpenOptions, type Security } from './repository.js';
export { expectVerified, ImportContext, ObjectStore, type Verification, type FromFileOptions, type StoreMethod, type StoreStrategy, type StoredObject } from './objects.js';
export { ObjectWriter } from './object-writer.js';
export { StreamStore, type OpenedStream, type StreamRef } from './streams.js';
export { ImageStore } from './images.js';
export { RepositoryBusyError } from './lock.js';
export { repositoryPath, SYSTEM_REPOSITORY, userRepository, type LocationOptions } from './location.js';
export { ALGORITHMS, type Algorithm } from './meta.js';
export { decodeTag, encodeTag, checkRefName, checkContentId } from './names.js';
export { isObjectId, objectRelPath, toObjectId, type ObjectId } from './object-id.js';
export { resolveLink, openObjectFile, type Resolved } from './links.js';
export { checkParents, readRepoLink, entriesBelow } from './symlinks.js';
