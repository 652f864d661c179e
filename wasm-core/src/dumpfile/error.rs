//! Why a dumpfile cannot be read, or paths cannot be dumped. Every problem
//! of a dumpfile's text is malformed input; the message names the line.

crate::error::module_error!(
    /// A dumpfile (or dump-files request) this core refuses.
    Error,
    from: crate::tree::TreeError
);
