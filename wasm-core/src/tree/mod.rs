//! The filesystem tree a composefs image describes: directories with
//! entries sorted by name bytes, and leaves (regular files, symlinks,
//! devices, FIFOs, sockets) shared by their hard links. Regular files are
//! either inline bytes or an object ID plus size.
//!
//! Metadata is what composefs-rs keeps: permission bits, uid, gid, mtime (seconds
//! and nanoseconds) and xattrs. A character device 0:0 is an ordinary leaf
//! here (overlayfs reads it as a whiteout when the image is mounted).
//! Not here: reading directories from disk (the host does that) or any
//! image format (see `erofs` and `dumpfile`).

mod build;
mod model;
mod transform;

pub use build::{
    check_name, split_path, NewEntry, TreeError, INLINE_CONTENT_MAX, MAX_EXTERNAL_SIZE, MAX_INLINE_CONTENT, NAME_MAX, PATH_MAX,
    SYMLINK_MAX, XATTR_NAME_MAX, XATTR_TOTAL_MAX, XATTR_VALUE_MAX,
};
pub use model::{
    hex, DirId, Directory, FileType, Leaf, LeafContent, LeafId, Node, ObjectId, RegularFile, Stat, Tree, Xattrs,
};
pub use transform::{XattrFilter, CONTAINER_XATTR_ALLOWLIST};
pub(crate) use build::{check_leaf, check_stat};

#[cfg(test)]
mod tests;
