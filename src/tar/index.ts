/** Tar archives split into inline bytes and member contents, through the wasm core. */
export { splitTar, TarSplitter, type TarEntryType } from './split.js';
