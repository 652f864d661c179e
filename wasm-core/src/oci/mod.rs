//! OCI images as composefs trees, as composefs-rs's `composefs-oci` and
//! `composefs-boot` make them: the tar members of a stored layer
//! splitstream read without touching object contents (`layer`, `entry`),
//! layers applied into one tree (`apply`, with composefs-rs's path rules in
//! `paths`), and the boot transformation with SELinux relabelling (`boot`,
//! `selabel`).
//!
//! Not here: reading streams or objects (the host feeds chunks and, for
//! SELinux policies, object contents), writing images (see `erofs`).

mod apply;
mod error;
mod boot;
mod entry;
mod layer;
mod paths;
mod selabel;
mod stream;

pub use apply::{apply_entry, ImageBuilder};
pub use error::Error;
pub use boot::{transform_for_boot, BootStep, NeededObject};
pub use entry::{absolute_path, dumpfile_line, makedev, EntryStat, LayerEntry, LayerItem};
pub use layer::LayerReader;
pub use selabel::{policy_type, Policy};

#[cfg(test)]
mod tests;
