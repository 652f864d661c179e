//! From a tree to the list of inodes an image holds, in composefs-rs's
//! order for the format: V2 depth first (a directory's inode before its
//! entries', so the root is inode 0), V0/V1 breadth first (`plan_bfs`).
//! Entries go by name, each hard-linked leaf once. Xattrs used by more
//! than one inode go to the shared table; directories are cut into
//! 4096-byte blocks plus an inline tail.

use super::format::{
    dirent_type, FormatVersion, BLOCK_SIZE, COMPACT_INODE_SIZE, COMPOSEFS_FLAGS_HAS_ACL, DIRENT_SIZE,
    EXTENDED_INODE_SIZE, FT_DIRECTORY, XATTR_IBODY_HEADER_SIZE,
};
use super::xattr::{escape_name, metacopy_value, redirect_value, DiskXattr, METACOPY, OPAQUE, REDIRECT};
use crate::tree::{DirId, FileType, LeafContent, Node, RegularFile, Stat, Tree};
use std::collections::btree_map;
use std::collections::BTreeMap;

/// A directory's inline tail is kept only while it is at most this long.
const MAX_INLINE_DIRENTS: usize = 2048;
/// `e_name_index` of the POSIX ACL xattrs.
const ACL_INDEXES: [u8; 2] = [2, 3];

pub struct Dirent<'t> {
    pub name: &'t [u8],
    pub inode: usize,
    pub file_type: u8,
}

pub enum Body<'t> {
    Dir { blocks: Vec<Vec<Dirent<'t>>>, inline: Vec<Dirent<'t>>, size: u64 },
    Leaf(&'t LeafContent),
}

pub struct PlanInode<'t> {
    pub stat: &'t Stat,
    /// The type the image shows: a V0/V1 escaped whiteout is a regular file.
    pub file_type: FileType,
    pub nlink: u32,
    pub body: Body<'t>,
    /// Indexes into the shared xattr table, in the inode's xattr order.
    pub shared: Vec<usize>,
    pub local: Vec<DiskXattr>,
    /// Bloom filter bits of every xattr name (stored inverted).
    pub filter: u32,
    /// V0/V1: a symlink whose target went to a data block of its own.
    pub data_block: bool,
}

impl PlanInode<'_> {
    /// Bytes of the inode's xattr area (0 without xattrs).
    pub fn xattr_size(&self) -> usize {
        if self.filter == 0 {
            return 0;
        }
        XATTR_IBODY_HEADER_SIZE + 4 * self.shared.len() + self.local.iter().map(DiskXattr::encoded_len).sum::<usize>()
    }

    pub fn add_xattr(&mut self, name: &[u8], value: &[u8], version: FormatVersion) {
        let x = DiskXattr::new(name, value, version);
        self.filter |= x.filter_bit();
        self.local.push(x);
    }

    /// `st_size` as the image records it.
    pub fn size(&self) -> u64 {
        match &self.body {
            Body::Dir { size, .. } => *size,
            Body::Leaf(content) => content.size(),
        }
    }

    /// Whether the 32-byte compact header can hold this inode (V0/V1): its
    /// mtime is the build time (the oldest mtime) and the rest fits.
    pub fn fits_compact(&self, build_time: (u64, u32)) -> bool {
        (self.stat.mtime as u64, self.stat.mtime_nsec) == build_time
            && self.nlink <= u32::from(u16::MAX)
            && self.stat.uid <= u32::from(u16::MAX)
            && self.stat.gid <= u32::from(u16::MAX)
            && self.size() <= u64::from(u32::MAX)
    }

    pub fn header_size(&self, plan: &Plan<'_>) -> usize {
        if plan.version.compact_layout() && self.fits_compact(plan.build_time) {
            COMPACT_INODE_SIZE
        } else {
            EXTENDED_INODE_SIZE
        }
    }
}

pub struct Plan<'t> {
    pub version: FormatVersion,
    pub inodes: Vec<PlanInode<'t>>,
    pub shared: Vec<DiskXattr>,
    /// V0/V1: the oldest mtime (seconds, nanoseconds); V2: zero.
    pub build_time: (u64, u32),
    /// The composefs header's flags.
    pub flags: u32,
}

/// An inode with its own xattrs as local ones: the overlay xattrs of an
/// external file first, then the file's own (a `trusted.overlay.*` one
/// escaped).
pub fn new_inode<'t>(tree: &Tree, stat: &'t Stat, body: Body<'t>, file_type: FileType, nlink: u32, version: FormatVersion) -> PlanInode<'t> {
    let mut inode =
        PlanInode { stat, file_type, nlink, body, shared: Vec::new(), local: Vec::new(), filter: 0, data_block: false };
    if let Body::Leaf(LeafContent::Regular(RegularFile::External { id, .. })) = inode.body {
        inode.add_xattr(METACOPY, &metacopy_value(tree.algorithm(), id), version);
        inode.add_xattr(REDIRECT, &redirect_value(id), version);
    }
    for (name, value) in &stat.xattrs {
        inode.add_xattr(&escape_name(name), value, version);
    }
    inode
}

pub fn empty_dir() -> Body<'static> {
    Body::Dir { blocks: Vec::new(), inline: Vec::new(), size: 0 }
}

/// Sorts in "." and ".." (names are already in byte order), then fills
/// blocks; a tail over 2048 bytes becomes a block of its own.
pub fn directory<'t>(mut entries: Vec<Dirent<'t>>, me: usize, parent: usize) -> (Body<'t>, u32) {
    for (name, inode) in [(&b"."[..], me), (&b".."[..], parent)] {
        let at = entries.partition_point(|e| e.name < name);
        entries.insert(at, Dirent { name, inode, file_type: FT_DIRECTORY });
    }
    let nlink = entries.iter().filter(|e| e.file_type == FT_DIRECTORY).count() as u32;
    let mut blocks = Vec::new();
    let mut tail = Vec::new();
    let mut fill = 0usize;
    for entry in entries {
        let len = DIRENT_SIZE + entry.name.len();
        fill += len;
        if fill > BLOCK_SIZE {
            blocks.push(std::mem::take(&mut tail));
            fill = len;
        }
        tail.push(entry);
    }
    if fill > MAX_INLINE_DIRENTS {
        blocks.push(std::mem::take(&mut tail));
        fill = 0;
    }
    let size = (BLOCK_SIZE * blocks.len() + fill) as u64;
    (Body::Dir { blocks, inline: tail, size }, nlink)
}

struct Frame<'t> {
    dir: DirId,
    me: usize,
    parent: usize,
    name: &'t [u8],
    entries: btree_map::Iter<'t, Box<[u8]>, Node>,
    dirents: Vec<Dirent<'t>>,
}

/// V2's inode order: depth first, each hard-linked leaf at its first path.
fn collect_dfs<'t>(tree: &'t Tree) -> Vec<PlanInode<'t>> {
    let version = FormatVersion::V2;
    let nlinks = tree.nlinks();
    let mut leaf_inodes: Vec<Option<usize>> = vec![None; tree.leaf_count()];
    let mut inodes: Vec<PlanInode<'t>> = Vec::new();
    let push_dir = |inodes: &mut Vec<PlanInode<'t>>, dir: DirId| -> usize {
        inodes.push(new_inode(tree, &tree.dir(dir).stat, empty_dir(), FileType::Directory, 0, version));
        inodes.len() - 1
    };
    let root = push_dir(&mut inodes, Tree::ROOT);
    let mut stack =
        vec![Frame { dir: Tree::ROOT, me: root, parent: root, name: b"", entries: tree.root().entries.iter(), dirents: Vec::new() }];
    while let Some(frame) = stack.last_mut() {
        match frame.entries.next() {
            Some((name, &Node::Leaf(l))) => {
                let inode = match leaf_inodes[l.index()] {
                    Some(inode) => inode,
                    None => {
                        let leaf = tree.leaf(l);
                        let body = Body::Leaf(&leaf.content);
                        inodes.push(new_inode(tree, &leaf.stat, body, leaf.content.file_type(), nlinks[l.index()], version));
                        leaf_inodes[l.index()] = Some(inodes.len() - 1);
                        inodes.len() - 1
                    }
                };
                let file_type = dirent_type(inodes[inode].file_type);
                frame.dirents.push(Dirent { name, inode, file_type });
            }
            Some((name, &Node::Dir(d))) => {
                let parent = frame.me;
                let me = push_dir(&mut inodes, d);
                let entries = tree.dir(d).entries.iter();
                stack.push(Frame { dir: d, me, parent, name, entries, dirents: Vec::new() });
            }
            None => {
                let done = stack.pop().expect("the frame just inspected");
                debug_assert_eq!(tree.dir(done.dir).len(), done.dirents.len());
                let (body, nlink) = directory(done.dirents, done.me, done.parent);
                inodes[done.me].body = body;
                inodes[done.me].nlink = nlink;
                if let Some(parent) = stack.last_mut() {
                    parent.dirents.push(Dirent { name: done.name, inode: done.me, file_type: FT_DIRECTORY });
                }
            }
        }
    }
    inodes
}

pub fn plan<'t>(tree: &'t Tree, stubs: &'t super::plan_bfs::Stubs, version: FormatVersion) -> Plan<'t> {
    if !version.compact_layout() {
        let mut inodes = collect_dfs(tree);
        let shared = share_xattrs(&mut inodes, version);
        return Plan { version, inodes, shared, build_time: (0, 0), flags: 0 };
    }
    let mut inodes = super::plan_bfs::collect_bfs(tree, stubs, version);
    // After the whiteout escaping, as C mkcomposefs adds it.
    inodes[0].add_xattr(OPAQUE, b"y", version);
    let acl = inodes.iter().any(|i| i.local.iter().any(|x| ACL_INDEXES.contains(&x.prefix)));
    let shared = share_xattrs(&mut inodes, version);
    let build_time = inodes.iter().map(|i| (i.stat.mtime as u64, i.stat.mtime_nsec)).min().unwrap_or((0, 0));
    let mut plan = Plan { version, inodes, shared, build_time, flags: if acl { COMPOSEFS_FLAGS_HAS_ACL } else { 0 } };
    promote_symlinks(&mut plan);
    plan
}

/// V0/V1: a symlink whose inode, xattrs and target would fill a block
/// keeps its target in a data block (C mkcomposefs's rule). Inline files
/// (at most 512 bytes) and chunk indexes (one chunk for files up to the
/// tree's 2^43-byte limit) never come near it.
fn promote_symlinks(plan: &mut Plan<'_>) {
    let build_time = plan.build_time;
    for inode in &mut plan.inodes {
        let Body::Leaf(LeafContent::Symlink(target)) = inode.body else { continue };
        let header = if inode.fits_compact(build_time) { COMPACT_INODE_SIZE } else { EXTENDED_INODE_SIZE };
        if header + inode.xattr_size() + target.len() >= BLOCK_SIZE {
            inode.data_block = true;
        }
    }
}

/// Moves every xattr (name and value) that more than one inode carries
/// into the shared table; inodes then refer to it by index. V2 orders the
/// table by (prefix index, suffix, value); V0/V1 sort each inode's xattrs
/// by full name and write the table in descending full-name order, as C
/// mkcomposefs does.
fn share_xattrs(inodes: &mut [PlanInode<'_>], version: FormatVersion) -> Vec<DiskXattr> {
    if version.compact_layout() {
        for inode in inodes.iter_mut() {
            inode.local.sort_by(DiskXattr::cmp_full_key);
        }
    }
    let mut counts: BTreeMap<DiskXattr, usize> = BTreeMap::new();
    for inode in inodes.iter() {
        for x in &inode.local {
            match counts.get_mut(x) {
                Some(n) => *n += 1,
                None => {
                    counts.insert(x.clone(), 1);
                }
            }
        }
    }
    counts.retain(|_, n| *n > 1);
    let table: Vec<DiskXattr> = if version.compact_layout() {
        let mut sorted: Vec<DiskXattr> = counts.keys().cloned().collect();
        sorted.sort_by(DiskXattr::cmp_full_key);
        sorted.reverse();
        sorted
    } else {
        counts.keys().cloned().collect()
    };
    for (index, x) in table.iter().enumerate() {
        if let Some(n) = counts.get_mut(x) {
            *n = index;
        }
    }
    for inode in inodes.iter_mut() {
        let shared = &mut inode.shared;
        inode.local.retain(|x| match counts.get(x) {
            Some(&index) => {
                shared.push(index);
                false
            }
            None => true,
        });
    }
    table
}
