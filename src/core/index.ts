/** The wasm core: its interfaces, instantiated once per thread, and the WIT types. */
export { composefs, coreMessage, fsverity, oci, splitstream, tar, tarsplit, withInput } from './wasm.js';
export type * from './types.js';
