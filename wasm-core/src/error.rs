//! The kinds of failure the core reports. Each module has its own error
//! type (a format's own words, with context at every layer); all of them
//! say which kind they are, and the component boundary turns that into the
//! WIT `error` variant, which hosts map onto their error classes.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input does not follow its format (truncated, inconsistent, hostile).
    Malformed,
    /// Content is not what a digest, checksum or recorded size says it is.
    Integrity,
    /// The input is over one of the bounds that keep memory and time in check.
    Limit,
    /// A version, algorithm or feature this core does not implement.
    Unsupported,
}

/// What every module's error type offers: its message (Display) and kind.
pub trait CoreError: fmt::Display {
    fn kind(&self) -> ErrorKind;
}

/// Defines a module's error type: a kind and a message, constructors per
/// kind, `context` to prefix where it happened (keeping the kind), and
/// conversions from the error types of the modules it builds on.
macro_rules! module_error {
    ($(#[$doc:meta])* $name:ident $(, from: $($source:ty),+)?) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            kind: $crate::error::ErrorKind,
            message: String,
        }

        #[allow(dead_code)]
        impl $name {
            pub fn new(kind: $crate::error::ErrorKind, message: impl Into<String>) -> Self {
                Self { kind, message: message.into() }
            }
            pub fn malformed(message: impl Into<String>) -> Self {
                Self::new($crate::error::ErrorKind::Malformed, message)
            }
            pub fn integrity(message: impl Into<String>) -> Self {
                Self::new($crate::error::ErrorKind::Integrity, message)
            }
            pub fn limit(message: impl Into<String>) -> Self {
                Self::new($crate::error::ErrorKind::Limit, message)
            }
            pub fn unsupported(message: impl Into<String>) -> Self {
                Self::new($crate::error::ErrorKind::Unsupported, message)
            }
            /// The same error, said to have happened in `place`.
            pub fn context(self, place: impl std::fmt::Display) -> Self {
                Self { kind: self.kind, message: format!("{place}: {}", self.message) }
            }
            pub fn message(&self) -> &str {
                &self.message
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.message)
            }
        }

        impl std::error::Error for $name {}

        /// Tests read an error as its message (`err.contains("…")`).
        #[cfg(test)]
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.message
            }
        }

        impl $crate::error::CoreError for $name {
            fn kind(&self) -> $crate::error::ErrorKind {
                self.kind
            }
        }

        /// A message alone is a malformed input (the common case).
        impl From<String> for $name {
            fn from(message: String) -> Self {
                Self::malformed(message)
            }
        }

        impl From<&str> for $name {
            fn from(message: &str) -> Self {
                Self::malformed(message)
            }
        }

        $($(
            impl From<$source> for $name {
                fn from(e: $source) -> Self {
                    Self::new($crate::error::CoreError::kind(&e), e.to_string())
                }
            }
        )+)?
    };
}
pub(crate) use module_error;
