//! composefs EROFS images: the writer, byte-identical to composefs-rs
//! 0.9's `mkfs_erofs_versioned` for the same tree in each format version
//! (V0, V1, V2), and a reader that turns any image back
//! into a tree while treating it as hostile input.
//!
//! What composefs puts in EROFS: metadata only. Small regular files are
//! stored inline; larger ones are empty chunk-based inodes whose
//! `trusted.overlay.metacopy` (fs-verity digest) and
//! `trusted.overlay.redirect` (object path) xattrs let overlayfs find their
//! data in the repository. Not here: mounting, or reading file data.

mod error;
mod format;
mod image;
mod objects;
mod plan;
mod plan_bfs;
mod reader;
mod writer;
mod xattr;

pub use format::FormatVersion;
pub use image::MAX_IMAGE_SIZE;
pub use objects::image_objects;
pub use reader::{read_image, ImageTree, MAX_DEPTH};
pub use error::Error;
pub use writer::{image_id, write};

#[cfg(test)]
mod tests;
