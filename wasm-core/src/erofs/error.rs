//! Why an image cannot be read or written.

crate::error::module_error!(
    /// An EROFS image that is not a composefs image this core can read, or a
    /// tree it cannot write.
    Error,
    from: crate::tree::TreeError, crate::fsverity::Error
);
