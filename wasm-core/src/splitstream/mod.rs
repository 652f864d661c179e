//! composefs splitstreams: a file (often a layer tar) stored as a
//! zstd-compressed sequence of inline bytes and references to external
//! objects, so the original is rebuilt byte for byte from the repository.
//!
//! The layout is the one composefs-rs writes (`doc/splitstream.md` there):
//! a 32-byte header, an 80-byte info section, the stream and object ref
//! arrays, the compressed named refs and the compressed stream. Files from
//! composefs-rs before its `repr(C)` fix have the header fields in another
//! order; the reader accepts both, the writer produces only the current one.
//!
//! What is here: the writer ([`Writer`], which compresses incrementally so
//! the host can move the output to disk as it goes), header and info
//! validation ([`parse_header`], [`parse_info`]), named refs
//! ([`decode_named_refs`]) and a streaming chunk decoder ([`StreamDecoder`])
//! that never allocates by a length it has not checked.
//! Not here: reading or writing files, opening objects, digesting the
//! result (the host and the fsverity module do that).

mod decoder;
mod error;
mod format;
mod named_refs;
mod writer;

pub use decoder::{Event, StreamDecoder, EVENT_MAX_INLINE};
pub use error::Error;
pub use format::{
    parse_header, parse_info, FileRange, Header, Info, Layout, HEADER_SIZE, INFO_MAX_SIZE, INFO_SIZE,
    LG_BLOCK_SIZE,
};
pub use named_refs::{decode_named_refs, encode_named_refs, NamedRef, NAMED_REFS_MAX_SIZE};
pub use writer::{Finished, Writer};

/// `content_type` values of OCI streams: eight ASCII bytes read as a
/// little-endian u64, as composefs-oci defines them.
pub mod content_type {
    pub const OCI_LAYER: u64 = u64::from_le_bytes(*b"ocilayer");
    pub const OCI_CONFIG: u64 = u64::from_le_bytes(*b"ociconfg");
    pub const OCI_MANIFEST: u64 = u64::from_le_bytes(*b"ocimanif");
    pub const OCI_BLOB: u64 = u64::from_le_bytes(*b"oci_blob");
}

#[cfg(test)]
mod tests;
