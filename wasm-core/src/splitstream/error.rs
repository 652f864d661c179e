//! One error type for every splitstream failure: the message says what is
//! wrong and where, because the host only adds the stream's name to it.

crate::error::module_error!(
    /// A splitstream that cannot be read or written.
    Error
);

/// `Err(Error)` from a format string: malformed unless a kind comes first
/// (`fail!(limit: "…")`).
macro_rules! fail {
    (limit: $($arg:tt)*) => {
        return Err($crate::splitstream::Error::limit(format!($($arg)*)))
    };
    (integrity: $($arg:tt)*) => {
        return Err($crate::splitstream::Error::integrity(format!($($arg)*)))
    };
    (unsupported: $($arg:tt)*) => {
        return Err($crate::splitstream::Error::unsupported(format!($($arg)*)))
    };
    ($($arg:tt)*) => {
        return Err($crate::splitstream::Error::malformed(format!($($arg)*)))
    };
}
pub(crate) use fail;
