//! Tar archives as container layers use them: header parsing (ustar, GNU
//! long names and links, PAX records with path, linkpath, size, times,
//! ids and `SCHILY.xattr.*` extended attributes, base-256 numbers for
//! sizes of 8 GiB and more, both checksum conventions) and a streaming
//! splitter that tells a host which bytes of a tar stream are member
//! content (to store as objects) and which to keep inline, so the exact
//! archive can be rebuilt.
//!
//! Follows Go's archive/tar, the reader behind tar-split and
//! containers-storage. Not here: sparse files (refused), writing tars,
//! reading files.

mod entry;
mod header;
mod pax;
mod split;

pub use entry::Entry;
pub use header::{parse_numeric, NumericError, BLOCK};
pub use split::{Event, Splitter, TarError, MAX_EXTENSION};

#[cfg(test)]
pub(crate) mod tests;
