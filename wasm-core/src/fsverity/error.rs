//! Why a digest could not be computed: parameters the kernel would refuse,
//! or tree entries that do not describe the file.

use super::params::{MAX_LG_BLOCK_SIZE, MIN_LG_BLOCK_SIZE};
use super::tree::MAX_HEIGHT;
use crate::error::{CoreError, ErrorKind};
use std::fmt;

#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    BlockSize(u8),
    Height(u8),
    EntrySize { len: usize, digest_size: usize },
    EntryCount { expected: u64, actual: u64 },
    HeightTooTall { height: u8, data_size: u64 },
    EmptyFile,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BlockSize(lg) => write!(
                f,
                "fs-verity block size 2^{lg} is out of range (2^{MIN_LG_BLOCK_SIZE} to 2^{MAX_LG_BLOCK_SIZE})"
            ),
            Self::Height(h) => write!(f, "tree height {h} is out of range (0 to {MAX_HEIGHT})"),
            Self::EntrySize { len, digest_size } => {
                write!(f, "{len} bytes of tree entries is not a multiple of the {digest_size}-byte digest")
            }
            Self::EntryCount { expected, actual } => {
                write!(f, "expected {expected} tree entries for this file size, got {actual}")
            }
            Self::HeightTooTall { height, data_size } => write!(
                f,
                "a file of {data_size} bytes has no tree level {height}: hash it at a lower height"
            ),
            Self::EmptyFile => write!(f, "an empty file has no tree entries"),
        }
    }
}

impl std::error::Error for Error {}

impl CoreError for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::BlockSize(_) => ErrorKind::Unsupported,
            Self::Height(_) | Self::EntrySize { .. } | Self::EntryCount { .. } | Self::HeightTooTall { .. } | Self::EmptyFile => {
                ErrorKind::Malformed
            }
        }
    }
}
