//! composefs-rs `transform_for_oci`, which cfsctl applies to the tree of an
//! OCI image and, by default, to a directory it reads as a container root
//! (`read_container_root`, `doc/oci.md`): `/` takes `/usr`'s metadata,
//! `/run` is emptied and given `/usr`'s mtime, and xattrs are filtered.

use super::build::TreeError;
use super::model::{Node, Tree};

/// composefs-rs `CONTAINER_XATTR_ALLOWLIST`: host xattrs such as SELinux
/// labels must not leak into images; file capabilities are real content.
pub const CONTAINER_XATTR_ALLOWLIST: &[&[u8]] = &[b"security.capability"];

/// composefs-rs `XattrFiltering`: which xattrs survive the transformation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum XattrFilter {
    /// Only the allowlist (composefs-rs's default).
    #[default]
    AllowlistOnly,
    /// The allowlist and every `user.*` xattr.
    KeepUserXattrs,
}

impl XattrFilter {
    pub fn keeps(self, name: &[u8]) -> bool {
        CONTAINER_XATTR_ALLOWLIST.contains(&name) || (self == Self::KeepUserXattrs && name.starts_with(b"user."))
    }
}

impl Tree {
    /// Keeps only the xattrs `keep` accepts, on every directory and leaf.
    pub fn filter_xattrs(&mut self, keep: impl Fn(&[u8]) -> bool) {
        for dir in &mut self.dirs {
            dir.stat.xattrs.retain(|name, _| keep(name));
        }
        for leaf in &mut self.leaves {
            leaf.stat.xattrs.retain(|name, _| keep(name));
        }
    }

    /// Applies the transformation; `/usr` must exist.
    pub fn transform_for_oci(&mut self, xattrs: XattrFilter) -> Result<(), TreeError> {
        let usr = match self.root().get(b"usr") {
            Some(Node::Dir(d)) => d,
            Some(Node::Leaf(_)) => return Err(TreeError::Layout("/usr is not a directory")),
            None => return Err(TreeError::Layout("/usr does not exist (a container root takes its metadata from /usr)")),
        };
        let usr_stat = self.dir(usr).stat.clone();
        match self.root().get(b"run") {
            Some(Node::Dir(run)) => {
                let run = self.dir_mut(run);
                run.stat.mtime = usr_stat.mtime;
                run.stat.mtime_nsec = usr_stat.mtime_nsec;
                run.entries.clear();
            }
            Some(Node::Leaf(_)) => return Err(TreeError::Layout("/run is not a directory")),
            None => {}
        }
        self.dirs[0].stat = usr_stat;
        self.filter_xattrs(|name| xattrs.keeps(name));
        Ok(())
    }
}
