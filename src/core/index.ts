/** The wasm core: its interfaces, instantiated once per thread, and the WIT types. */
export { composefs, coreError, coreMessage, fsverity, oci, splitstream, tar, tarsplit, withInput, zstd, INLINE_CONTENT_MAX } from './wasm.js';
export type * from './types.js';
