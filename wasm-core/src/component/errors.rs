//! Core errors as the WIT `error` variant: each module's error type says
//! its kind, which picks the case; the message travels as it is.

use super::exports::cfskit::core::errors::Error as WitError;
use crate::error::{CoreError, ErrorKind};

pub fn wit_error(e: impl CoreError) -> WitError {
    let message = e.to_string();
    match e.kind() {
        ErrorKind::Malformed => WitError::Malformed(message),
        ErrorKind::Integrity => WitError::Integrity(message),
        ErrorKind::Limit => WitError::Limit(message),
        ErrorKind::Unsupported => WitError::Unsupported(message),
    }
}

/// A malformed-input error made at the boundary itself (a missing path, a
/// resource used after it was finished).
pub fn malformed(message: impl Into<String>) -> WitError {
    WitError::Malformed(message.into())
}

/// `e`, said to have happened at `place` (a path), keeping its kind.
pub fn wit_error_at(place: impl std::fmt::Display, e: impl CoreError) -> WitError {
    let kind = e.kind();
    let message = format!("{place}: {e}");
    match kind {
        ErrorKind::Malformed => WitError::Malformed(message),
        ErrorKind::Integrity => WitError::Integrity(message),
        ErrorKind::Limit => WitError::Limit(message),
        ErrorKind::Unsupported => WitError::Unsupported(message),
    }
}
