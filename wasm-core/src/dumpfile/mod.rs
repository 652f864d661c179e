//! The composefs dumpfile: one text line per entry (composefs-dump(5)),
//! written byte-identical to composefs-rs (`cfsctl create-dumpfile`,
//! `cfsctl dump-files`) and parsed strictly into a tree.
//! Not here: reading directories or images (the host and `erofs` do).

mod error;
mod escape;
mod parse;
mod write;

pub use error::Error;
pub use parse::parse_dumpfile;
pub use write::{dump_files, write_dumpfile};
/// Field escaping, shared with the layer listings of `oci`.
pub(crate) use escape::{field, xattr_fields};

#[cfg(test)]
mod tests;
