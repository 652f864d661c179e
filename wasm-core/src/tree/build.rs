//! Adding entries by path, with every limit checked on the way in so the
//! image writer and dumpfile writer can rely on them.

use super::model::{DirId, Directory, Leaf, LeafContent, LeafId, Node, RegularFile, Stat, Tree};
use crate::error::{CoreError, ErrorKind};
use std::fmt;

/// `NAME_MAX`: a name is one EROFS directory entry of at most 255 bytes.
pub const NAME_MAX: usize = 255;
/// `PATH_MAX`, as composefs dumpfiles bound paths.
pub const PATH_MAX: usize = 4096;
/// composefs-rs's `SYMLINK_MAX` (XFS's limit).
pub const SYMLINK_MAX: usize = 1024;
/// composefs-rs's `MAX_INLINE_CONTENT`: the largest file kept in the image
/// that a reader accepts (its writer inlines up to `INLINE_CONTENT_MAX`).
pub const MAX_INLINE_CONTENT: usize = 512;
/// composefs-rs's `INLINE_CONTENT_MAX_V0`: files up to this size are stored
/// in the image, larger ones as objects. Changing it changes image IDs.
pub const INLINE_CONTENT_MAX: usize = 64;
/// The largest external file an image can describe: composefs writes one
/// chunk of 2^(12+31) bytes for every external file, so a larger size
/// would make an image no reader accepts (composefs-rs's writer makes it
/// anyway; a tar header can claim up to 2^63 - 1 bytes).
pub const MAX_EXTERNAL_SIZE: u64 = 1 << 43;
/// `XATTR_NAME_MAX` and the EROFS 16-bit value size.
pub const XATTR_NAME_MAX: usize = 255;
pub const XATTR_VALUE_MAX: usize = 65535;
/// An inode's xattrs must fit EROFS's 16-bit `xattr_icount` (4-byte units,
/// about 256 KiB); this bounds names plus values with room for the
/// metacopy and redirect xattrs the writer adds.
pub const XATTR_TOTAL_MAX: usize = 256 * 1024;

#[derive(Debug, PartialEq, Eq)]
pub enum TreeError {
    /// The path is not absolute and canonical.
    BadPath(&'static str),
    BadName(&'static str),
    ParentMissing,
    ParentNotDirectory,
    Exists,
    HardlinkTarget(&'static str),
    Mode(u32),
    Nanoseconds(u32),
    Xattr(String),
    Inline(usize),
    TooLarge(u64),
    Symlink(&'static str),
    ObjectId { len: usize, expected: usize },
    NotFound,
    NotDirectory,
    IsDirectory,
    /// The tree lacks what a transformation needs (/usr for a container root).
    Layout(&'static str),
}

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadPath(why) | Self::BadName(why) => f.write_str(why),
            Self::ParentMissing => f.write_str("its parent directory does not exist (add parents first)"),
            Self::ParentNotDirectory => f.write_str("its parent is not a directory"),
            Self::Exists => f.write_str("an entry with this path already exists"),
            Self::HardlinkTarget(why) => write!(f, "hard link target {why}"),
            Self::Mode(m) => write!(f, "mode {m:o} has bits beyond the permission bits 7777"),
            Self::Nanoseconds(n) => write!(f, "mtime nanoseconds {n} are not below 1000000000"),
            Self::Xattr(why) => f.write_str(why),
            Self::Inline(n) => write!(f, "{n} bytes of inline data exceed the {MAX_INLINE_CONTENT}-byte limit"),
            Self::TooLarge(n) => write!(f, "a {n}-byte file is larger than the {MAX_EXTERNAL_SIZE} bytes an image can describe"),
            Self::Symlink(why) => write!(f, "symlink target {why}"),
            Self::ObjectId { len, expected } => {
                write!(f, "object ID of {len} bytes, expected {expected} for this tree's hash algorithm")
            }
            Self::NotFound => f.write_str("no such file or directory"),
            Self::NotDirectory => f.write_str("not a directory"),
            Self::IsDirectory => f.write_str("is a directory"),
            Self::Layout(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for TreeError {}

impl CoreError for TreeError {
    fn kind(&self) -> ErrorKind {
        match self {
            // What an image can describe: file sizes and xattr space.
            Self::TooLarge(_) | Self::Xattr(_) => ErrorKind::Limit,
            _ => ErrorKind::Malformed,
        }
    }
}

/// What [`Tree::insert`] adds.
#[derive(Clone, Debug)]
pub enum NewEntry {
    /// A directory; at "/" this sets the root's metadata.
    Directory(Stat),
    Leaf(Leaf),
    /// Another name for the non-directory at this absolute path.
    Hardlink(Box<[u8]>),
}

/// The components of an absolute canonical path ("/" has none).
pub fn split_path(path: &[u8]) -> Result<Vec<&[u8]>, TreeError> {
    let rest = path.strip_prefix(b"/").ok_or(TreeError::BadPath("path is not absolute"))?;
    if path.len() > PATH_MAX {
        return Err(TreeError::BadPath("path is longer than 4096 bytes"));
    }
    if path.contains(&0) {
        return Err(TreeError::BadPath("path contains a NUL byte"));
    }
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    rest.split(|&b| b == b'/').map(|c| check_name(c).map(|()| c)).collect()
}

pub fn check_name(name: &[u8]) -> Result<(), TreeError> {
    match name {
        b"" => Err(TreeError::BadName("empty path component (// or a trailing /)")),
        b"." | b".." => Err(TreeError::BadName("path component . or .. is not allowed")),
        _ if name.len() > NAME_MAX => Err(TreeError::BadName("name longer than 255 bytes")),
        _ if name.contains(&0) || name.contains(&b'/') => Err(TreeError::BadName("name contains NUL or /")),
        _ => Ok(()),
    }
}

pub fn check_stat(stat: &Stat) -> Result<(), TreeError> {
    if stat.mode & !0o7777 != 0 {
        return Err(TreeError::Mode(stat.mode));
    }
    if stat.mtime_nsec >= 1_000_000_000 {
        return Err(TreeError::Nanoseconds(stat.mtime_nsec));
    }
    let mut total = 0usize;
    for (name, value) in &stat.xattrs {
        if name.is_empty() || name.len() > XATTR_NAME_MAX || name.contains(&0) {
            return Err(TreeError::Xattr(format!(
                "xattr name of {} bytes (must be 1 to {XATTR_NAME_MAX} bytes without NUL)",
                name.len()
            )));
        }
        if value.len() > XATTR_VALUE_MAX {
            return Err(TreeError::Xattr(format!(
                "xattr {} has a {}-byte value (at most {XATTR_VALUE_MAX})",
                String::from_utf8_lossy(name),
                value.len()
            )));
        }
        total += (4 + name.len() + value.len()).next_multiple_of(4);
    }
    if total > XATTR_TOTAL_MAX {
        return Err(TreeError::Xattr(format!("{total} bytes of xattrs exceed the {XATTR_TOTAL_MAX}-byte limit")));
    }
    Ok(())
}

pub(crate) fn check_leaf(tree: &Tree, leaf: &Leaf) -> Result<(), TreeError> {
    check_stat(&leaf.stat)?;
    match &leaf.content {
        LeafContent::Regular(RegularFile::Inline(data)) if data.len() > MAX_INLINE_CONTENT => {
            Err(TreeError::Inline(data.len()))
        }
        LeafContent::Regular(RegularFile::External { size, .. }) if *size > MAX_EXTERNAL_SIZE => {
            Err(TreeError::TooLarge(*size))
        }
        LeafContent::Regular(RegularFile::External { id, .. }) => {
            let expected = tree.algorithm.digest_size();
            if id.as_bytes().len() != expected {
                return Err(TreeError::ObjectId { len: id.as_bytes().len(), expected });
            }
            Ok(())
        }
        LeafContent::Symlink(target) => {
            if target.is_empty() {
                Err(TreeError::Symlink("is empty"))
            } else if target.len() > SYMLINK_MAX {
                Err(TreeError::Symlink("is longer than 1024 bytes"))
            } else if target.contains(&0) {
                Err(TreeError::Symlink("contains a NUL byte"))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

impl Tree {
    /// The entry at an absolute path, if any.
    pub fn lookup(&self, path: &[u8]) -> Result<Option<Node>, TreeError> {
        let mut node = Node::Dir(Self::ROOT);
        for name in split_path(path)? {
            let Node::Dir(dir) = node else { return Err(TreeError::NotDirectory) };
            match self.dirs[dir.0].get(name) {
                Some(next) => node = next,
                None => return Ok(None),
            }
        }
        Ok(Some(node))
    }

    fn parent_of<'p>(&self, path: &'p [u8]) -> Result<Option<(DirId, &'p [u8])>, TreeError> {
        let mut names = split_path(path)?;
        let Some(name) = names.pop() else { return Ok(None) };
        let mut dir = Self::ROOT;
        for component in names {
            match self.dirs[dir.0].get(component) {
                Some(Node::Dir(d)) => dir = d,
                Some(Node::Leaf(_)) => return Err(TreeError::ParentNotDirectory),
                None => return Err(TreeError::ParentMissing),
            }
        }
        Ok(Some((dir, name)))
    }

    /// Adds one entry below an existing directory. Parents come first; a
    /// path that exists already is an error (a tree has no duplicates).
    pub fn insert(&mut self, path: &[u8], entry: NewEntry) -> Result<Node, TreeError> {
        let Some((parent, name)) = self.parent_of(path)? else {
            return match entry {
                NewEntry::Directory(stat) => {
                    check_stat(&stat)?;
                    self.dirs[0].stat = stat;
                    Ok(Node::Dir(Self::ROOT))
                }
                _ => Err(TreeError::BadPath("the root must be a directory")),
            };
        };
        match entry {
            NewEntry::Directory(stat) => self.add_dir(parent, name, stat).map(Node::Dir),
            NewEntry::Leaf(leaf) => self.add_leaf(parent, name, leaf).map(Node::Leaf),
            NewEntry::Hardlink(target) => {
                let target = match self.lookup(&target).map_err(|_| TreeError::HardlinkTarget("is not a valid path"))? {
                    Some(Node::Leaf(l)) => l,
                    Some(Node::Dir(_)) => return Err(TreeError::HardlinkTarget("is a directory")),
                    None => return Err(TreeError::HardlinkTarget("does not exist (add it first)")),
                };
                self.add_link(parent, name, target).map(|()| Node::Leaf(target))
            }
        }
    }

    fn claim(&self, parent: DirId, name: &[u8]) -> Result<(), TreeError> {
        check_name(name)?;
        if self.dirs[parent.0].entries.contains_key(name) {
            return Err(TreeError::Exists);
        }
        Ok(())
    }

    /// Adds a subdirectory `name` to `parent`.
    pub fn add_dir(&mut self, parent: DirId, name: &[u8], stat: Stat) -> Result<DirId, TreeError> {
        self.claim(parent, name)?;
        check_stat(&stat)?;
        let id = DirId(self.dirs.len());
        self.dirs.push(Directory { stat, entries: Default::default() });
        self.dirs[parent.0].entries.insert(name.into(), Node::Dir(id));
        Ok(id)
    }

    /// Adds a new leaf `name` to `parent`.
    pub fn add_leaf(&mut self, parent: DirId, name: &[u8], leaf: Leaf) -> Result<LeafId, TreeError> {
        self.claim(parent, name)?;
        check_leaf(self, &leaf)?;
        let id = LeafId(self.leaves.len());
        self.leaves.push(leaf);
        self.dirs[parent.0].entries.insert(name.into(), Node::Leaf(id));
        Ok(id)
    }

    /// Adds `name` to `parent` as another hard link to `leaf`.
    pub fn add_link(&mut self, parent: DirId, name: &[u8], leaf: LeafId) -> Result<(), TreeError> {
        self.claim(parent, name)?;
        self.dirs[parent.0].entries.insert(name.into(), Node::Leaf(leaf));
        Ok(())
    }
}
