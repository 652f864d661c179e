//! The container-root transformation cfsctl applies by default when it
//! reads a directory (composefs-rs `read_container_root`, `doc/oci.md`):
//! only allowlisted xattrs survive, `/` takes `/usr`'s metadata, and `/run`
//! is emptied and given `/usr`'s mtime.

use super::build::TreeError;
use super::model::{Node, Tree};

/// composefs-rs `CONTAINER_XATTR_ALLOWLIST`: host xattrs such as SELinux
/// labels must not leak into images; file capabilities are real content.
pub const CONTAINER_XATTR_ALLOWLIST: &[&[u8]] = &[b"security.capability"];

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

    /// Applies the container-root transformation; `/usr` must exist.
    pub fn transform_for_container(&mut self) -> Result<(), TreeError> {
        self.filter_xattrs(|name| CONTAINER_XATTR_ALLOWLIST.contains(&name));
        self.transform_for_oci()
    }

    /// composefs-rs `transform_for_oci`, what it applies to a tree built
    /// from OCI layers (no xattr filtering there): `/` takes `/usr`'s
    /// metadata, `/run` is emptied and given `/usr`'s mtime.
    pub fn transform_for_oci(&mut self) -> Result<(), TreeError> {
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
                run.entries.clear();
            }
            Some(Node::Leaf(_)) => return Err(TreeError::Layout("/run is not a directory")),
            None => {}
        }
        self.dirs[0].stat = usr_stat;
        Ok(())
    }
}
