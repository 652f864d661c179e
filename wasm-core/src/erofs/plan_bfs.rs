//! V0/V1's inode order, C mkcomposefs's (composefs-rs `collect_tree`):
//! breadth first, all of a level before the next; a hard-linked leaf gets
//! its inode where it first appears depth first (the order a dumpfile lists
//! it), even if a shallower name comes earlier breadth first.
//!
//! Also here, what C mkcomposefs adds: the root gets the 256 whiteout
//! stubs `00`…`ff` (0:0 character devices with the root's owner and mtime
//! and only its SELinux label) where it has no entry of that name, and a
//! user's 0:0 character device becomes a regular file marked with
//! `trusted.overlay.overlay.whiteout` (overlayfs's escaped whiteout), its
//! directory marked as holding whiteouts (V1: and as opaque).

use super::format::{dirent_type, FormatVersion};
use super::plan::{directory, empty_dir, new_inode, Body, Dirent, PlanInode};
use super::xattr::{ESCAPED_OPAQUE, SELINUX, USER_OPAQUE, USER_WHITEOUT, USER_WHITEOUTS, WHITEOUT, WHITEOUTS};
use crate::tree::{DirId, FileType, LeafContent, LeafId, Node, Stat, Tree};
use std::collections::{HashMap, VecDeque};

/// The stubs' shared stat and content, and their names.
pub struct Stubs {
    stat: Stat,
    content: LeafContent,
    names: Vec<[u8; 2]>,
}

fn hex_name(i: u8) -> [u8; 2] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    [DIGITS[usize::from(i >> 4)], DIGITS[usize::from(i & 15)]]
}

impl Stubs {
    pub fn new(tree: &Tree) -> Self {
        let root = &tree.root().stat;
        let mut xattrs = crate::tree::Xattrs::new();
        if let Some(label) = root.xattrs.get(SELINUX) {
            xattrs.insert(SELINUX.into(), label.clone());
        }
        let stat = Stat { mode: 0o644, uid: root.uid, gid: root.gid, mtime: root.mtime, mtime_nsec: root.mtime_nsec, xattrs };
        let names = (0..=255u8).map(hex_name).filter(|n| tree.root().get(n).is_none()).collect();
        Self { stat, content: LeafContent::CharDevice(0), names }
    }

    /// No stubs (V2).
    pub fn none() -> Self {
        Self { stat: Stat::default(), content: LeafContent::CharDevice(0), names: Vec::new() }
    }

    /// Whether a root entry looks exactly like a stub (composefs-rs does
    /// not escape those either).
    fn matches(&self, name: &[u8], stat: &Stat) -> bool {
        name.len() == 2
            && name.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
            && stat.mode == self.stat.mode
            && (stat.uid, stat.gid, stat.mtime, stat.mtime_nsec) == (self.stat.uid, self.stat.gid, self.stat.mtime, self.stat.mtime_nsec)
            && stat.xattrs == self.stat.xattrs
    }
}

/// An entry of a directory being collected; the root's include the stubs.
enum Item<'t> {
    Node(&'t [u8], Node),
    Stub(&'t [u8]),
}

/// The root's entries merged with the stub names, in name order.
fn root_items<'t>(tree: &'t Tree, stubs: &'t Stubs) -> Vec<Item<'t>> {
    let mut items: Vec<Item<'t>> = tree.root().entries().map(|(n, node)| Item::Node(n, node)).collect();
    items.extend(stubs.names.iter().map(|n| Item::Stub(&n[..])));
    items.sort_by(|a, b| name_of(a).cmp(name_of(b)));
    items
}

fn name_of<'a>(item: &Item<'a>) -> &'a [u8] {
    match item {
        Item::Node(n, _) | Item::Stub(n) => n,
    }
}

/// For each hard-linked leaf, the directory of its first depth-first name.
fn canonical_dirs(tree: &Tree, nlinks: &[u32]) -> HashMap<LeafId, DirId> {
    let mut first = HashMap::new();
    tree.walk(|dir, node| {
        if let Node::Leaf(l) = node {
            if nlinks[l.index()] > 1 {
                first.entry(l).or_insert(dir);
            }
        }
    });
    first
}

/// A directory entry whose inode may not be known yet.
enum Target {
    Known(usize),
    /// A hard link met before its canonical name: resolved at the end.
    Deferred(LeafId),
}

struct Collector<'t> {
    tree: &'t Tree,
    version: FormatVersion,
    nlinks: Vec<u32>,
    inodes: Vec<PlanInode<'t>>,
    /// The inode of each hard-linked leaf once collected.
    linked: HashMap<LeafId, usize>,
}

impl<'t> Collector<'t> {
    fn leaf(&mut self, l: LeafId) -> usize {
        let nlink = self.nlinks[l.index()];
        if nlink > 1 {
            if let Some(&inode) = self.linked.get(&l) {
                return inode;
            }
        }
        let leaf = self.tree.leaf(l);
        let inode = new_inode(self.tree, &leaf.stat, Body::Leaf(&leaf.content), leaf.content.file_type(), nlink, self.version);
        self.inodes.push(inode);
        let index = self.inodes.len() - 1;
        if nlink > 1 {
            self.linked.insert(l, index);
        }
        index
    }

    /// Makes a user's whiteout a marked regular file (once).
    fn escape_whiteout(&mut self, inode: usize) -> bool {
        let version = self.version;
        let i = &mut self.inodes[inode];
        if i.file_type != FileType::CharDevice {
            return false;
        }
        i.file_type = FileType::Regular;
        i.add_xattr(WHITEOUT, b"", version);
        i.add_xattr(USER_WHITEOUT, b"", version);
        true
    }
}

/// A directory's inode, its parent's, and its entries before deferred
/// hard-link targets are resolved.
type Listing<'t> = (usize, usize, Vec<(&'t [u8], Target)>);

pub fn collect_bfs<'t>(tree: &'t Tree, stubs: &'t Stubs, version: FormatVersion) -> Vec<PlanInode<'t>> {
    let nlinks = tree.nlinks();
    let canonical = canonical_dirs(tree, &nlinks);
    let mut c = Collector { tree, version, nlinks, inodes: Vec::new(), linked: HashMap::new() };
    c.inodes.push(new_inode(tree, &tree.root().stat, empty_dir(), FileType::Directory, 0, version));
    let mut queue: VecDeque<(DirId, usize, usize)> = VecDeque::from([(Tree::ROOT, 0, 0)]);
    let mut listings: Vec<Listing<'t>> = Vec::new();
    while let Some((dir, parent, me)) = queue.pop_front() {
        let items: Vec<Item<'t>> = if dir == Tree::ROOT {
            root_items(tree, stubs)
        } else {
            tree.dir(dir).entries().map(|(n, node)| Item::Node(n, node)).collect()
        };
        let mut entries = Vec::with_capacity(items.len());
        let mut has_whiteout = false;
        for item in items {
            let (name, target) = match item {
                Item::Stub(name) => {
                    c.inodes.push(new_inode(tree, &stubs.stat, Body::Leaf(&stubs.content), FileType::CharDevice, 1, version));
                    (name, Target::Known(c.inodes.len() - 1))
                }
                Item::Node(name, Node::Dir(d)) => {
                    c.inodes.push(new_inode(tree, &tree.dir(d).stat, empty_dir(), FileType::Directory, 0, version));
                    let child = c.inodes.len() - 1;
                    queue.push_back((d, me, child));
                    (name, Target::Known(child))
                }
                Item::Node(name, Node::Leaf(l)) => {
                    let is_canonical = c.nlinks[l.index()] <= 1 || canonical.get(&l) == Some(&dir);
                    let target = if is_canonical {
                        Target::Known(c.leaf(l))
                    } else if let Some(&inode) = c.linked.get(&l) {
                        Target::Known(inode)
                    } else {
                        Target::Deferred(l)
                    };
                    let leaf = tree.leaf(l);
                    let is_stub = dir == Tree::ROOT && stubs.matches(name, &leaf.stat);
                    if let (true, false, Target::Known(inode), LeafContent::CharDevice(0)) = (is_canonical, is_stub, &target, &leaf.content) {
                        has_whiteout |= c.escape_whiteout(*inode);
                    }
                    (name, target)
                }
            };
            entries.push((name, target));
        }
        if has_whiteout {
            let i = &mut c.inodes[me];
            i.add_xattr(WHITEOUTS, b"", version);
            i.add_xattr(USER_WHITEOUTS, b"", version);
            if version == FormatVersion::V1 {
                i.add_xattr(ESCAPED_OPAQUE, b"x", version);
                i.add_xattr(USER_OPAQUE, b"x", version);
            }
        }
        listings.push((me, parent, entries));
    }
    for (me, parent, entries) in listings {
        let dirents: Vec<Dirent<'t>> = entries
            .into_iter()
            .map(|(name, target)| {
                let inode = match target {
                    Target::Known(i) => i,
                    Target::Deferred(l) => *c.linked.get(&l).expect("every hard-linked leaf has a canonical name"),
                };
                let file_type = dirent_type(c.inodes[inode].file_type);
                Dirent { name, inode, file_type }
            })
            .collect();
        let (body, nlink) = directory(dirents, me, parent);
        c.inodes[me].body = body;
        c.inodes[me].nlink = nlink;
    }
    c.inodes
}
