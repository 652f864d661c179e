//! The tree's data: directories own their sorted entries, non-directories
//! live in one leaf table so hard links are entries naming the same leaf.

use crate::fsverity::HashAlgorithm;
use std::collections::BTreeMap;
use std::fmt;

/// Extended attributes by full name ("user.foo"), sorted by name bytes.
pub type Xattrs = BTreeMap<Box<[u8]>, Box<[u8]>>;

/// What composefs keeps of `struct stat`: permission bits, owner, the
/// mtime (seconds and nanoseconds, as composefs-rs 0.9 keeps them), plus
/// xattrs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stat {
    /// Permission bits only (`mode & 0o7777`); the type comes from the node.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    /// Below 1 000 000 000.
    pub mtime_nsec: u32,
    pub xattrs: Xattrs,
}

/// An fs-verity digest naming a repository object.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectId(Box<[u8]>);

impl ObjectId {
    pub fn new(bytes: &[u8]) -> Self {
        Self(bytes.into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }

    /// "ab/cdef…": the object's path below `objects/`.
    pub fn pathname(&self) -> String {
        match self.0.split_first() {
            Some((first, rest)) => format!("{first:02x}/{}", hex(rest)),
            None => String::new(),
        }
    }

    /// Parses lowercase or uppercase hex of exactly `len` bytes.
    pub fn from_hex(text: &[u8], len: usize) -> Option<Self> {
        if text.len() != len * 2 {
            return None;
        }
        let nibble = |c: u8| (c as char).to_digit(16);
        let bytes: Option<Vec<u8>> =
            text.chunks(2).map(|p| Some((nibble(p[0])? * 16 + nibble(p[1])?) as u8)).collect();
        bytes.map(|b| Self(b.into()))
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A regular file's data: small files are stored in the image itself, the
/// others are repository objects the image points to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegularFile {
    Inline(Box<[u8]>),
    External { id: ObjectId, size: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeafContent {
    Regular(RegularFile),
    BlockDevice(u64),
    CharDevice(u64),
    Fifo,
    Socket,
    Symlink(Box<[u8]>),
}

/// File types with their `S_IFMT` bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileType {
    Directory,
    Regular,
    Symlink,
    BlockDevice,
    CharDevice,
    Fifo,
    Socket,
}

impl FileType {
    pub const fn ifmt(self) -> u32 {
        match self {
            Self::Fifo => 0o010000,
            Self::CharDevice => 0o020000,
            Self::Directory => 0o040000,
            Self::BlockDevice => 0o060000,
            Self::Regular => 0o100000,
            Self::Symlink => 0o120000,
            Self::Socket => 0o140000,
        }
    }

    pub fn from_mode(mode: u32) -> Option<Self> {
        Some(match mode & 0o170000 {
            0o010000 => Self::Fifo,
            0o020000 => Self::CharDevice,
            0o040000 => Self::Directory,
            0o060000 => Self::BlockDevice,
            0o100000 => Self::Regular,
            0o120000 => Self::Symlink,
            0o140000 => Self::Socket,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Directory => "directory",
            Self::Regular => "regular file",
            Self::Symlink => "symlink",
            Self::BlockDevice => "block device",
            Self::CharDevice => "character device",
            Self::Fifo => "FIFO",
            Self::Socket => "socket",
        }
    }
}

impl LeafContent {
    pub fn file_type(&self) -> FileType {
        match self {
            Self::Regular(_) => FileType::Regular,
            Self::BlockDevice(_) => FileType::BlockDevice,
            Self::CharDevice(_) => FileType::CharDevice,
            Self::Fifo => FileType::Fifo,
            Self::Socket => FileType::Socket,
            Self::Symlink(_) => FileType::Symlink,
        }
    }

    /// `st_size`: data length, symlink target length, else 0.
    pub fn size(&self) -> u64 {
        match self {
            Self::Regular(RegularFile::Inline(data)) => data.len() as u64,
            Self::Regular(RegularFile::External { size, .. }) => *size,
            Self::Symlink(target) => target.len() as u64,
            _ => 0,
        }
    }

    pub fn rdev(&self) -> u64 {
        match self {
            Self::BlockDevice(rdev) | Self::CharDevice(rdev) => *rdev,
            _ => 0,
        }
    }

    pub fn object(&self) -> Option<&ObjectId> {
        match self {
            Self::Regular(RegularFile::External { id, .. }) => Some(id),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    pub stat: Stat,
    pub content: LeafContent,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DirId(pub(crate) usize);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeafId(pub(crate) usize);

impl DirId {
    pub fn index(self) -> usize {
        self.0
    }
}

impl LeafId {
    pub fn index(self) -> usize {
        self.0
    }
}

/// A directory entry: a subdirectory (owned by exactly one entry) or a leaf
/// (shared by every hard link to it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Node {
    Dir(DirId),
    Leaf(LeafId),
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Directory {
    pub stat: Stat,
    pub(crate) entries: BTreeMap<Box<[u8]>, Node>,
}

impl Directory {
    /// Entries in byte order of their names.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], Node)> + '_ {
        self.entries.iter().map(|(name, node)| (&name[..], *node))
    }

    pub fn get(&self, name: &[u8]) -> Option<Node> {
        self.entries.get(name).copied()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A whole filesystem tree. Directories and leaves live in arenas; the root
/// is directory 0. Entries removed from a directory may leave unreachable
/// arena slots, which every walk ignores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tree {
    pub(crate) algorithm: HashAlgorithm,
    pub(crate) dirs: Vec<Directory>,
    pub(crate) leaves: Vec<Leaf>,
}

impl Tree {
    /// An empty tree whose external files are named by `algorithm` digests.
    /// The root starts with all-zero metadata, as composefs-rs's does.
    pub fn new(algorithm: HashAlgorithm) -> Self {
        Self { algorithm, dirs: vec![Directory::default()], leaves: Vec::new() }
    }

    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    pub const ROOT: DirId = DirId(0);

    pub fn root(&self) -> &Directory {
        &self.dirs[0]
    }

    pub fn dir(&self, id: DirId) -> &Directory {
        &self.dirs[id.0]
    }

    pub fn leaf(&self, id: LeafId) -> &Leaf {
        &self.leaves[id.0]
    }

    pub fn dir_mut(&mut self, id: DirId) -> &mut Directory {
        &mut self.dirs[id.0]
    }

    pub fn leaf_mut(&mut self, id: LeafId) -> &mut Leaf {
        &mut self.leaves[id.0]
    }

    pub fn stat(&self, node: Node) -> &Stat {
        match node {
            Node::Dir(d) => &self.dirs[d.0].stat,
            Node::Leaf(l) => &self.leaves[l.0].stat,
        }
    }

    pub fn file_type(&self, node: Node) -> FileType {
        match node {
            Node::Dir(_) => FileType::Directory,
            Node::Leaf(l) => self.leaves[l.0].content.file_type(),
        }
    }

    /// The number of leaf slots (some may be unreachable).
    pub fn leaf_count(&self) -> usize {
        self.leaves.len()
    }

    pub fn dir_count(&self) -> usize {
        self.dirs.len()
    }

    /// How many reachable entries name each leaf: its `st_nlink`.
    pub fn nlinks(&self) -> Vec<u32> {
        let mut counts = vec![0u32; self.leaves.len()];
        self.walk(|_, node| {
            if let Node::Leaf(l) = node {
                counts[l.0] += 1;
            }
        });
        counts
    }

    /// `st_nlink` of a directory: 2 plus one per subdirectory.
    pub fn dir_nlink(&self, id: DirId) -> u32 {
        let subdirs = self.dirs[id.0].entries.values().filter(|n| matches!(n, Node::Dir(_))).count();
        2 + subdirs as u32
    }

    /// Visits every reachable entry (not the root) in depth-first order,
    /// directories before their contents, names in byte order. Iterative, so
    /// deep trees cannot overflow the stack.
    pub fn walk(&self, mut visit: impl FnMut(DirId, Node)) {
        let mut stack: Vec<std::collections::btree_map::Iter<'_, Box<[u8]>, Node>> =
            vec![self.dirs[0].entries.iter()];
        let mut parents = vec![Self::ROOT];
        while let Some(iter) = stack.last_mut() {
            match iter.next() {
                Some((_, &node)) => {
                    let parent = *parents.last().expect("one parent per level");
                    visit(parent, node);
                    if let Node::Dir(d) = node {
                        stack.push(self.dirs[d.0].entries.iter());
                        parents.push(d);
                    }
                }
                None => {
                    stack.pop();
                    parents.pop();
                }
            }
        }
    }

    /// The number of reachable entries, the root included.
    pub fn entry_count(&self) -> u64 {
        let mut n = 1u64;
        self.walk(|_, _| n += 1);
        n
    }
}
