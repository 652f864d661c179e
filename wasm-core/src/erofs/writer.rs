//! Writes a planned image. Where things land depends only on sizes, so one
//! pass over a byte counter finds every offset (inodes, the end of the
//! inode table, shared xattrs, data blocks) and a second pass writes the
//! bytes with them.

use super::format::{
    composefs_header, superblock, FormatVersion, InodeHeader, SuperblockFields, BLOCK_BITS, BLOCK_SIZE,
    CHUNK_FORMAT_BLKBITS_MASK, CHUNK_FORMAT_EXTERNAL, COMPACT_INODE_SIZE, DIRENT_SIZE, INODE_SLOT, LAYOUT_CHUNK_BASED,
    LAYOUT_FLAT_INLINE, LAYOUT_FLAT_PLAIN, NULL_CHUNK, SUPERBLOCK_OFFSET, XATTR_IBODY_HEADER_SIZE,
};
use super::plan::{plan, Body, Dirent, Plan, PlanInode};
use super::plan_bfs::Stubs;
use crate::fsverity::{FileHasher, Params};
use super::error::Error;
use crate::tree::{FileType, LeafContent, Node, RegularFile, Tree};

trait Sink {
    fn len(&self) -> usize;
    fn write(&mut self, bytes: &[u8]);
    fn zeros(&mut self, n: usize);
    fn pad(&mut self, align: usize) {
        let n = self.len().next_multiple_of(align) - self.len();
        self.zeros(n);
    }
}

struct Counter(usize);

impl Sink for Counter {
    fn len(&self) -> usize {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
    fn zeros(&mut self, n: usize) {
        self.0 += n;
    }
}

impl Sink for Vec<u8> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn write(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    fn zeros(&mut self, n: usize) {
        self.resize(Vec::len(self) + n, 0);
    }
}

/// Where each inode, shared xattr and inode's blocks start, and the end.
#[derive(Default, Debug, PartialEq, Eq)]
struct Offsets {
    inodes: Vec<usize>,
    inodes_end: usize,
    xattrs: Vec<usize>,
    blocks: Vec<usize>,
    end: usize,
}

/// Offsets of the previous pass; all zero during the first.
struct Known<'a> {
    offsets: &'a Offsets,
    version: FormatVersion,
}

impl Known<'_> {
    fn nid(&self, inode: usize) -> u64 {
        (self.offsets.inodes.get(inode).copied().unwrap_or(0) / INODE_SLOT) as u64
    }
    /// V0/V1 address shared xattrs from the block the inode table ends in.
    fn xattr_blkaddr(&self) -> u32 {
        if self.version.compact_layout() {
            (self.offsets.inodes_end / BLOCK_SIZE) as u32
        } else {
            0
        }
    }
    fn xattr(&self, index: usize) -> u32 {
        let base = self.xattr_blkaddr() as usize * BLOCK_SIZE;
        (self.offsets.xattrs.get(index).copied().unwrap_or(0).saturating_sub(base) / 4) as u32
    }
    fn block(&self, inode: usize) -> u32 {
        (self.offsets.blocks.get(inode).copied().unwrap_or(0) / BLOCK_SIZE) as u32
    }
}

/// composefs-rs `compute_chunk_format` (V0/V1): the smallest chunk of at
/// least one block holding the whole file, as a power of two over 4096.
fn chunk_format(size: u64) -> u32 {
    let bits = if size > 1 { 64 - (size - 1).leading_zeros() } else { 1 };
    bits.clamp(u32::from(BLOCK_BITS), u32::from(BLOCK_BITS) + CHUNK_FORMAT_BLKBITS_MASK) - u32::from(BLOCK_BITS)
}

/// Data layout, `i_u`, size and the bytes stored after the xattrs.
fn data_of<'a>(inode: &'a PlanInode<'_>, index: usize, at: &Known<'_>) -> (u16, u32, u64, &'a [u8]) {
    match &inode.body {
        Body::Dir { blocks, inline, size } => {
            let layout = if inline.is_empty() { LAYOUT_FLAT_PLAIN } else { LAYOUT_FLAT_INLINE };
            let u = if blocks.is_empty() { 0 } else { at.block(index) };
            (layout, u, *size, &[])
        }
        Body::Leaf(content) => match content {
            LeafContent::Regular(RegularFile::Inline(data)) if data.is_empty() => (LAYOUT_FLAT_PLAIN, 0, 0, &[]),
            LeafContent::Regular(RegularFile::Inline(data)) => (LAYOUT_FLAT_INLINE, 0, data.len() as u64, data),
            LeafContent::Regular(RegularFile::External { size, .. }) => {
                // One chunk whatever the format: files are at most 2^43 bytes.
                let format = if at.version.compact_layout() { chunk_format(*size) } else { CHUNK_FORMAT_EXTERNAL };
                (LAYOUT_CHUNK_BASED, format, *size, &NULL_CHUNK)
            }
            // `i_u` holds the device number in 32 bits, as composefs-rs stores it.
            LeafContent::BlockDevice(rdev) | LeafContent::CharDevice(rdev) => (LAYOUT_FLAT_PLAIN, *rdev as u32, 0, &[]),
            LeafContent::Fifo | LeafContent::Socket => (LAYOUT_FLAT_PLAIN, 0, 0, &[]),
            LeafContent::Symlink(target) if inode.data_block => (LAYOUT_FLAT_PLAIN, at.block(index), target.len() as u64, &[]),
            LeafContent::Symlink(target) => (LAYOUT_FLAT_INLINE, 0, target.len() as u64, target),
        },
    }
}

fn write_dirents(out: &mut impl Sink, entries: &[Dirent<'_>], at: &Known<'_>) {
    let mut name_offset = DIRENT_SIZE * entries.len();
    for e in entries {
        let mut header = [0u8; DIRENT_SIZE];
        header[0..8].copy_from_slice(&at.nid(e.inode).to_le_bytes());
        header[8..10].copy_from_slice(&(name_offset as u16).to_le_bytes());
        header[10] = e.file_type;
        out.write(&header);
        name_offset += e.name.len();
    }
    for e in entries {
        out.write(e.name);
    }
}

fn to_boundary(pos: usize) -> usize {
    pos.next_multiple_of(BLOCK_SIZE) - pos
}

/// The padding before an inode that keeps its inline part inside one
/// block, by composefs-rs's rules for the format (C mkcomposefs's for
/// V0/V1, including where it rounds to 32 bytes and where to a block).
fn pad_before(out: &mut impl Sink, inode: &PlanInode<'_>, version: FormatVersion, layout: u16, size: u64, head: usize) {
    let pos = out.len();
    let inline = (size % BLOCK_SIZE as u64) as usize;
    let symlink = inode.file_type == FileType::Symlink;
    if !version.compact_layout() {
        if layout == LAYOUT_FLAT_INLINE {
            // composefs-rs V2, including its off-by-one at an exact boundary.
            let last_meta = pos + head - 1;
            if last_meta / BLOCK_SIZE != (pos + head + inline) / BLOCK_SIZE {
                out.zeros(BLOCK_SIZE - last_meta % BLOCK_SIZE);
                out.pad(INODE_SLOT);
            }
        }
        return;
    }
    let total = head + size as usize;
    if symlink && layout == LAYOUT_FLAT_PLAIN && pos / BLOCK_SIZE != (pos + total - 1) / BLOCK_SIZE {
        // A symlink whose target moved to a data block still starts a block
        // if it would have crossed one.
        out.zeros(to_boundary(pos));
    } else if layout == LAYOUT_CHUNK_BASED || (layout == LAYOUT_FLAT_INLINE && !symlink) {
        let tail = if layout == LAYOUT_CHUNK_BASED { NULL_CHUNK.len() } else { inline };
        let rest = to_boundary(pos + head);
        if rest != 0 && rest < tail {
            out.zeros(rest.next_multiple_of(INODE_SLOT));
        }
    } else if layout == LAYOUT_FLAT_INLINE && pos % BLOCK_SIZE + head + inline > BLOCK_SIZE {
        out.zeros(to_boundary(pos));
    }
}

/// Writes one inode after its alignment padding; returns where it starts.
fn write_inode(out: &mut impl Sink, plan: &Plan<'_>, index: usize, at: &Known<'_>, scratch: &mut Vec<u8>) -> usize {
    let inode = &plan.inodes[index];
    let version = plan.version;
    let (layout, u, size, tail) = data_of(inode, index, at);
    let xattr_size = inode.xattr_size();
    let header_size = inode.header_size(plan);
    out.pad(INODE_SLOT);
    pad_before(out, inode, version, layout, size, header_size + xattr_size);
    let start = out.len();
    let icount = if xattr_size == 0 { 0 } else { 1 + (xattr_size - XATTR_IBODY_HEADER_SIZE) / 4 };
    let header = InodeHeader {
        layout,
        xattr_icount: icount as u16,
        mode: (inode.file_type.ifmt() | inode.stat.mode) as u16,
        size,
        u,
        // V0/V1 number inodes in order, as C mkcomposefs; V2 by nid.
        ino: if version.compact_layout() { index as u32 } else { (start / INODE_SLOT) as u32 },
        uid: inode.stat.uid,
        gid: inode.stat.gid,
        mtime: inode.stat.mtime as u64,
        mtime_nsec: if version.compact_layout() { inode.stat.mtime_nsec } else { 0 },
        nlink: inode.nlink,
    };
    if header_size == COMPACT_INODE_SIZE {
        let mut compact = [0u8; COMPACT_INODE_SIZE];
        header.encode_compact(&mut compact);
        out.write(&compact);
    } else {
        out.write(&header.encode_extended());
    }
    if xattr_size > 0 {
        let mut head = [0u8; XATTR_IBODY_HEADER_SIZE];
        head[0..4].copy_from_slice(&(!inode.filter).to_le_bytes());
        head[4] = inode.shared.len() as u8;
        out.write(&head);
        for &index in &inode.shared {
            out.write(&at.xattr(index).to_le_bytes());
        }
        for x in &inode.local {
            scratch.clear();
            x.encode_into(scratch);
            out.write(scratch);
        }
    }
    match &inode.body {
        Body::Dir { inline, .. } => write_dirents(out, inline, at),
        Body::Leaf(_) => out.write(tail),
    }
    out.pad(INODE_SLOT);
    start
}

fn write_image(out: &mut impl Sink, plan: &Plan<'_>, known: &Offsets) -> Offsets {
    let at = Known { offsets: known, version: plan.version };
    let mut found = Offsets::default();
    let mut scratch = Vec::new();
    out.write(&composefs_header(plan.flags, plan.version.composefs_version()));
    out.pad(SUPERBLOCK_OFFSET);
    out.write(&superblock(&SuperblockFields {
        root_nid: at.nid(0) as u16,
        inos: plan.inodes.len() as u64,
        blocks: (known.end / BLOCK_SIZE) as u32,
        build_time: plan.build_time,
        xattr_blkaddr: at.xattr_blkaddr(),
    }));
    for index in 0..plan.inodes.len() {
        found.inodes.push(write_inode(out, plan, index, &at, &mut scratch));
    }
    out.pad(INODE_SLOT);
    found.inodes_end = out.len();
    for x in &plan.shared {
        found.xattrs.push(out.len());
        scratch.clear();
        x.encode_into(&mut scratch);
        out.write(&scratch);
    }
    out.pad(BLOCK_SIZE);
    for inode in &plan.inodes {
        found.blocks.push(out.len());
        match &inode.body {
            Body::Dir { blocks, .. } => {
                for block in blocks {
                    write_dirents(out, block, &at);
                    out.pad(BLOCK_SIZE);
                }
            }
            Body::Leaf(LeafContent::Symlink(target)) if inode.data_block => {
                out.write(target);
                out.pad(BLOCK_SIZE);
            }
            Body::Leaf(_) => {}
        }
    }
    found.end = out.len();
    found
}

/// composefs-rs's `ValidatedFileSystem` refuses a hard-linked whiteout.
fn check_tree(tree: &Tree) -> Result<(), Error> {
    let nlinks = tree.nlinks();
    let mut bad = None;
    tree.walk(|_, node| {
        if let Node::Leaf(l) = node {
            if nlinks[l.index()] > 1 && tree.leaf(l).content == LeafContent::CharDevice(0) {
                bad = Some(nlinks[l.index()]);
            }
        }
    });
    match bad {
        Some(n) => Err(Error::malformed(format!("a whiteout (0:0 character device) has {n} hard links; composefs allows one"))),
        None => Ok(()),
    }
}

fn check(plan: &Plan<'_>) -> Result<(), Error> {
    for inode in &plan.inodes {
        if inode.shared.len() > usize::from(u8::MAX) {
            return Err(Error::limit(format!("an inode shares {} xattrs (at most 255)", inode.shared.len())));
        }
        let size = inode.xattr_size();
        if size > 0 && 1 + (size - XATTR_IBODY_HEADER_SIZE) / 4 > usize::from(u16::MAX) {
            return Err(Error::limit(format!("an inode has {size} bytes of xattrs (EROFS holds about 256 KiB)")));
        }
    }
    Ok(())
}

/// The composefs EROFS image of `tree` in `version`, byte for byte as
/// composefs-rs 0.9 writes it.
pub fn write(tree: &Tree, version: FormatVersion) -> Result<Vec<u8>, Error> {
    check_tree(tree)?;
    let stubs = if version.compact_layout() { Stubs::new(tree) } else { Stubs::none() };
    let plan = plan(tree, &stubs, version);
    check(&plan)?;
    let mut counter = Counter(0);
    let offsets = write_image(&mut counter, &plan, &Offsets::default());
    let mut image = Vec::with_capacity(offsets.end);
    let again = write_image(&mut image, &plan, &offsets);
    debug_assert_eq!(again, offsets);
    debug_assert_eq!(image.len(), offsets.end);
    Ok(image)
}

/// The image ID: the fs-verity digest (4 KiB blocks, the tree's algorithm)
/// of the image.
pub fn image_id(tree: &Tree, version: FormatVersion) -> Result<Vec<u8>, Error> {
    let image = write(tree, version)?;
    let params = Params::new(tree.algorithm(), 12).expect("4 KiB blocks are valid");
    let mut hasher = FileHasher::new(params);
    hasher.update(&image);
    Ok(hasher.finish())
}
