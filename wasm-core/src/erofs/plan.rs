//! From a tree to the list of inodes an image holds, in composefs-rs's
//! order: depth first, a directory's inode before its entries' (so the root
//! is inode 0 with a small nid), entries by name, each hard-linked leaf once
//! at its first path. Xattrs used by more than one inode go to the shared
//! table; directories are cut into 4096-byte blocks plus an inline tail.

use super::format::{dirent_type, BLOCK_SIZE, DIRENT_SIZE, FT_DIRECTORY, XATTR_IBODY_HEADER_SIZE};
use super::xattr::{escape_name, metacopy_value, redirect_value, DiskXattr, METACOPY, REDIRECT};
use crate::tree::{DirId, FileType, LeafContent, Node, RegularFile, Stat, Tree};
use std::collections::btree_map;
use std::collections::BTreeMap;

/// A directory's inline tail is kept only while it is at most this long.
const MAX_INLINE_DIRENTS: usize = 2048;

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
    pub file_type: FileType,
    pub nlink: u32,
    pub body: Body<'t>,
    /// Indexes into the shared xattr table, in the inode's xattr order.
    pub shared: Vec<usize>,
    pub local: Vec<DiskXattr>,
    /// Bloom filter bits of every xattr name (stored inverted).
    pub filter: u32,
}

impl PlanInode<'_> {
    /// Bytes of the inode's xattr area (0 without xattrs).
    pub fn xattr_size(&self) -> usize {
        if self.filter == 0 {
            return 0;
        }
        XATTR_IBODY_HEADER_SIZE + 4 * self.shared.len() + self.local.iter().map(DiskXattr::encoded_len).sum::<usize>()
    }
}

pub struct Plan<'t> {
    pub inodes: Vec<PlanInode<'t>>,
    pub shared: Vec<DiskXattr>,
}

fn inode_xattrs(tree: &Tree, stat: &Stat, content: Option<&LeafContent>) -> (Vec<DiskXattr>, u32) {
    let mut local = Vec::with_capacity(stat.xattrs.len() + 2);
    // The overlay xattrs of external files come first, then the file's own.
    if let Some(LeafContent::Regular(RegularFile::External { id, .. })) = content {
        local.push(DiskXattr::new(METACOPY, &metacopy_value(tree.algorithm(), id)));
        local.push(DiskXattr::new(REDIRECT, &redirect_value(id)));
    }
    for (name, value) in &stat.xattrs {
        local.push(DiskXattr::new(&escape_name(name), value));
    }
    let filter = local.iter().fold(0, |f, x| f | x.filter_bit());
    (local, filter)
}

/// Sorts in "." and ".." (names are already in byte order), then fills
/// blocks; a tail over 2048 bytes becomes a block of its own.
fn directory<'t>(mut entries: Vec<Dirent<'t>>, me: usize, parent: usize) -> (Body<'t>, u32) {
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

pub fn plan<'t>(tree: &'t Tree) -> Plan<'t> {
    let nlinks = tree.nlinks();
    let mut leaf_inodes: Vec<Option<usize>> = vec![None; tree.leaf_count()];
    let mut inodes: Vec<PlanInode<'t>> = Vec::new();

    let push_dir = |inodes: &mut Vec<PlanInode<'t>>, dir: DirId| -> usize {
        let stat = &tree.dir(dir).stat;
        let (local, filter) = inode_xattrs(tree, stat, None);
        inodes.push(PlanInode {
            stat,
            file_type: FileType::Directory,
            nlink: 0,
            body: Body::Dir { blocks: Vec::new(), inline: Vec::new(), size: 0 },
            shared: Vec::new(),
            local,
            filter,
        });
        inodes.len() - 1
    };

    let root = push_dir(&mut inodes, Tree::ROOT);
    let mut stack = vec![Frame {
        dir: Tree::ROOT,
        me: root,
        parent: root,
        name: b"",
        entries: tree.root().entries.iter(),
        dirents: Vec::new(),
    }];
    while let Some(frame) = stack.last_mut() {
        match frame.entries.next() {
            Some((name, &Node::Leaf(l))) => {
                let inode = match leaf_inodes[l.index()] {
                    Some(inode) => inode,
                    None => {
                        let leaf = tree.leaf(l);
                        let (local, filter) = inode_xattrs(tree, &leaf.stat, Some(&leaf.content));
                        inodes.push(PlanInode {
                            stat: &leaf.stat,
                            file_type: leaf.content.file_type(),
                            nlink: nlinks[l.index()],
                            body: Body::Leaf(&leaf.content),
                            shared: Vec::new(),
                            local,
                            filter,
                        });
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
    let shared = share_xattrs(&mut inodes);
    Plan { inodes, shared }
}

/// Moves every xattr (name and value) that more than one inode carries into
/// the shared table, sorted; inodes then refer to it by index.
fn share_xattrs(inodes: &mut [PlanInode<'_>]) -> Vec<DiskXattr> {
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
    for (index, n) in counts.values_mut().enumerate() {
        *n = index;
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
    counts.into_keys().collect()
}
