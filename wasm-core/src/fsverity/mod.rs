//! fs-verity file digests: the Merkle tree the kernel builds over a file's
//! data and the descriptor hash that names every composefs object.
//!
//! Pure computation over bytes the caller feeds in; no I/O. Whole-file
//! digests stream through [`FileHasher`]; hosts that hash on several threads
//! split a file into aligned ranges, hash each with [`RangeHasher`] and finish
//! with [`digest_from_entries`].
//! Not here: reading files or asking the kernel (host-bindings does that).

mod error;
mod params;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod sha512x2;
mod tree;

pub use error::Error;
pub use params::{HashAlgorithm, Params};
pub use tree::{digest_from_entries, FileHasher, RangeHasher};

#[cfg(test)]
mod tests;
