//! One error type for every splitstream failure: the message says what is
//! wrong and where, because the host only adds the stream's name to it.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }

    pub fn message(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// `Err(Error)` from a format string.
macro_rules! fail {
    ($($arg:tt)*) => {
        return Err($crate::splitstream::Error::new(format!($($arg)*)))
    };
}
pub(crate) use fail;
