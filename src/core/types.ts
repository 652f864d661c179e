/**
 * The core's WIT types that the rest of src/ names, re-exported from the
 * generated bindings in this one place (the WIT files are the contract;
 * gen/ is jco's rendering of it and is never imported elsewhere).
 */
export type { Blob, DirEntry, Entry as TreeEntry, ImageReader, InodeStat, Node as TreeNode, Tree, Xattr } from '../../gen/wasm-core/interfaces/cfskit-core-composefs.js';
export type { Params as CoreVerityParams } from '../../gen/wasm-core/interfaces/cfskit-core-fsverity.js';
export type { LayerEntry as CoreLayerEntry, NeededObject, SuppliedObject } from '../../gen/wasm-core/interfaces/cfskit-core-oci.js';
export type { Header as CoreSplitstreamHeader, Info as CoreSplitstreamInfo, Writer as CoreSplitstreamWriter } from '../../gen/wasm-core/interfaces/cfskit-core-splitstream.js';
export type { Entry as CoreTarEntry, Event as CoreTarEvent, Splitter as CoreTarSplitter } from '../../gen/wasm-core/interfaces/cfskit-core-tar.js';
export type { Entry as CoreTarSplitRecord, FileEntry as CoreTarSplitFileEntry } from '../../gen/wasm-core/interfaces/cfskit-core-tarsplit.js';
