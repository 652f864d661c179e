//! cfskit-core: the pure logic of cfskit (formats, digests, parsers),
//! compiled to a WebAssembly component. Nothing here does I/O: hosts stream
//! bytes in and take bytes out.

mod error;

pub mod fsverity;
pub mod splitstream;
pub mod tree;
pub mod erofs;
pub mod dumpfile;
pub mod tar;
pub mod tarsplit;
pub mod oci;
pub mod zstdstream;

#[cfg(target_arch = "wasm32")]
mod component;

#[cfg(test)]
mod test_vectors;
