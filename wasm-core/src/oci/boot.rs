//! The boot transformation composefs-boot's `transform_for_boot` applies
//! to an image's tree: `/boot` and `/sysroot` (which must exist) emptied
//! and given `/usr`'s mtime, then SELinux labels from the image's own
//! policy (`/etc/selinux/config` → `SELINUXTYPE` →
//! `/etc/selinux/<type>/contexts/files/file_contexts*`) or, without one,
//! no `security.selinux` anywhere.
//!
//! Policy files larger than 64 bytes are repository objects the core
//! cannot read: [`transform_for_boot`] then asks for them (`Need`) without
//! changing the tree, and the host calls again with their contents.
//! Boot entries (BLS, UKIs, vmlinuz) are not looked for: composefs-boot
//! only reads them, they do not change the tree.

use super::error::Error;
use super::paths::{directory, directory_opt, PathError};
use super::selabel::{policy_type, relabel_tree, strip_labels, Policy};
use crate::tree::{DirId, LeafContent, Node, ObjectId, RegularFile, Tree};
use std::collections::HashMap;

/// A regular file of the tree whose content is an object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NeededObject {
    pub path: Vec<u8>,
    pub id: ObjectId,
    pub size: u64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum BootStep {
    /// Done; true when a policy relabelled the tree.
    Done(bool),
    /// Call again with these objects' contents; the tree is unchanged.
    Need(Vec<NeededObject>),
}

const EMPTIED_DIRS: [&[u8]; 2] = [b"boot", b"sysroot"];
const SELINUX_DIR: &[u8] = b"etc/selinux";

/// What a file lookup found: its bytes, or the object still missing.
enum Content<'a> {
    Bytes(&'a [u8]),
    Missing(NeededObject),
}

struct Files<'a> {
    tree: &'a Tree,
    supplied: &'a HashMap<ObjectId, Vec<u8>>,
    need: Vec<NeededObject>,
}

impl<'a> Files<'a> {
    /// `get_file_opt` of `name` in `dir` (`shown` names it in errors).
    fn regular(&mut self, dir: DirId, name: &str, shown: &[u8]) -> Result<Option<&'a [u8]>, Error> {
        let tree = self.tree;
        let leaf = match tree.dir(dir).get(name.as_bytes()) {
            None => return Ok(None),
            Some(Node::Dir(_)) => return Err(PathError::IsADirectory(name.into()).into()),
            Some(Node::Leaf(l)) => tree.leaf(l),
        };
        let content = match &leaf.content {
            LeafContent::Regular(RegularFile::Inline(data)) => Content::Bytes(data),
            LeafContent::Regular(RegularFile::External { id, size }) => match self.supplied.get(id) {
                Some(data) => Content::Bytes(data),
                None => Content::Missing(NeededObject { path: shown.to_vec(), id: id.clone(), size: *size }),
            },
            _ => return Err(PathError::IsNotRegular(name.into()).into()),
        };
        Ok(match content {
            Content::Bytes(data) => Some(data),
            Content::Missing(needed) => {
                if !self.need.iter().any(|n| n.id == needed.id) {
                    self.need.push(needed);
                }
                // Present but unread: answered as empty until supplied.
                Some(&[])
            }
        })
    }
}

fn shown(dir: &[u8], name: &str) -> Vec<u8> {
    let mut p = dir.to_vec();
    p.push(b'/');
    p.extend_from_slice(name.as_bytes());
    p
}

fn top_dir(tree: &Tree, name: &[u8]) -> Result<DirId, Error> {
    Ok(directory(tree, Tree::ROOT, name)?)
}

/// What looking for the image's SELinux policy found.
enum Search {
    NoPolicy,
    Files(HashMap<&'static str, Vec<u8>>),
    Need(Vec<NeededObject>),
}

/// The policy files, if the image has a policy.
fn policy_files(tree: &Tree, supplied: &HashMap<ObjectId, Vec<u8>>) -> Result<Search, Error> {
    let mut files = Files { tree, supplied, need: Vec::new() };
    let Some(selinux) = directory_opt(tree, Tree::ROOT, SELINUX_DIR)? else {
        return Ok(Search::NoPolicy);
    };
    let Some(config) = files.regular(selinux, "config", &shown(b"/etc/selinux", "config"))? else { return Ok(Search::NoPolicy) };
    if !files.need.is_empty() {
        return Ok(Search::Need(files.need));
    }
    let Some(policy_name) = policy_type(config).map_err(|e| format!("/etc/selinux/config: {e}"))? else { return Ok(Search::NoPolicy) };
    // The name is a path below /etc/selinux, as composefs-boot looks it up.
    let policy_dir = directory(tree, selinux, policy_name.as_bytes())?;
    let contexts = directory(tree, policy_dir, b"contexts/files")?;
    let base = [b"/etc/selinux/", policy_name.as_bytes(), b"/contexts/files"].concat();
    let mut found = HashMap::new();
    for name in ["file_contexts", "file_contexts.local", "file_contexts.homedirs", "file_contexts.subs", "file_contexts.subs_dist"] {
        if let Some(data) = files.regular(contexts, name, &shown(&base, name))? {
            found.insert(name, data.to_vec());
        }
    }
    if !files.need.is_empty() {
        return Ok(Search::Need(files.need));
    }
    Ok(Search::Files(found))
}

/// composefs-boot `transform_for_boot`, without boot entries; `supplied`
/// holds the contents of objects asked for before.
pub fn transform_for_boot(tree: &mut Tree, supplied: &HashMap<ObjectId, Vec<u8>>) -> Result<BootStep, Error> {
    // Everything that can fail or needs data comes before any change.
    let usr = top_dir(tree, b"usr")?;
    let emptied = EMPTIED_DIRS.iter().map(|d| top_dir(tree, d)).collect::<Result<Vec<_>, _>>()?;
    let mut policy = match policy_files(tree, supplied)? {
        Search::Need(need) => return Ok(BootStep::Need(need)),
        Search::NoPolicy => None,
        Search::Files(files) => Some(Policy::build(&|name: &str| files.get(name).map(Vec::as_slice))?),
    };
    let usr_mtime = tree.dir(usr).stat.mtime;
    for dir in emptied {
        let d = tree.dir_mut(dir);
        d.stat.mtime = usr_mtime;
        d.entries.clear();
    }
    match policy.as_mut() {
        Some(policy) => {
            relabel_tree(tree, policy)?;
            Ok(BootStep::Done(true))
        }
        None => {
            strip_labels(tree);
            Ok(BootStep::Done(false))
        }
    }
}
