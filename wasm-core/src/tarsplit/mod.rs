//! tar-split metadata: the NDJSON records containers-storage keeps beside
//! each overlay layer (`overlay-layers/<id>.tar-split.gz`) so that the
//! layer's original tar can be rebuilt byte-for-byte from its `diff/`
//! directory. Record type 2 carries raw tar bytes (headers, padding, the
//! end-of-archive blocks) to emit verbatim; type 1 names a file whose
//! `size` bytes of content come from `diff/<name>`, with a CRC-64/ISO
//! checksum of those bytes.
//!
//! Here: a streaming record reader (NDJSON bytes in, in chunks of any
//! size, validated records out) and the checksum. Not here: gunzip, opening
//! files, or writing the tar (the host does I/O).

mod crc64;
mod name;
mod reader;
mod record;
mod sums;

pub use crc64::{combine as crc64_combine, Crc64};
pub use name::{clean_name, NameError};
pub use reader::{RecordReader, MAX_LINE};
pub use record::{Record, MAX_SIZE};
pub use sums::{content_sums, ContentSums};

use crate::error::{CoreError, ErrorKind};
use std::fmt;

/// What is wrong with the tar-split input, and in which record.
#[derive(Debug, PartialEq, Eq)]
pub struct TarSplitError {
    pub kind: ErrorKind,
    /// The record's position (its 0-based line number among the records).
    pub entry: u64,
    pub problem: String,
}

impl TarSplitError {
    /// A record that does not follow the format.
    pub(crate) fn new(entry: u64, problem: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Malformed, entry, problem: problem.into() }
    }

    /// A record over one of the bounds (line length, file size).
    pub(crate) fn limit(entry: u64, problem: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Limit, entry, problem: problem.into() }
    }
}

impl CoreError for TarSplitError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

impl fmt::Display for TarSplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tar-split entry {}: {}", self.entry, self.problem)
    }
}

impl std::error::Error for TarSplitError {}

#[cfg(test)]
mod tests;
