//! Writes a planned image. Where things land depends only on sizes, so one
//! pass over a byte counter finds every offset (inodes, shared xattrs,
//! directory blocks) and a second pass writes the bytes with them.

use super::format::{
    composefs_header, superblock, ExtendedInode, BLOCK_SIZE, CHUNK_FORMAT_EXTERNAL, DIRENT_SIZE, EXTENDED_INODE_SIZE,
    FORMAT_EXTENDED, INODE_SLOT, LAYOUT_CHUNK_BASED, LAYOUT_FLAT_INLINE, LAYOUT_FLAT_PLAIN, NULL_CHUNK,
    SUPERBLOCK_OFFSET, XATTR_IBODY_HEADER_SIZE,
};
use super::plan::{plan, Body, Dirent, Plan, PlanInode};
use crate::fsverity::{FileHasher, Params};
use crate::tree::{LeafContent, RegularFile, Tree};
use super::error::Error;

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
    xattrs: Vec<usize>,
    blocks: Vec<usize>,
    end: usize,
}

/// Offsets of the previous pass; all zero during the first.
struct Known<'a>(&'a Offsets);

impl Known<'_> {
    fn nid(&self, inode: usize) -> u64 {
        (self.0.inodes.get(inode).copied().unwrap_or(0) / INODE_SLOT) as u64
    }
    fn xattr(&self, index: usize) -> u32 {
        (self.0.xattrs.get(index).copied().unwrap_or(0) / 4) as u32
    }
    fn block(&self, inode: usize) -> u32 {
        (self.0.blocks.get(inode).copied().unwrap_or(0) / BLOCK_SIZE) as u32
    }
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
                (LAYOUT_CHUNK_BASED, CHUNK_FORMAT_EXTERNAL, *size, &NULL_CHUNK)
            }
            // `i_u` holds the device number in 32 bits, as composefs-rs stores it.
            LeafContent::BlockDevice(rdev) | LeafContent::CharDevice(rdev) => (LAYOUT_FLAT_PLAIN, *rdev as u32, 0, &[]),
            LeafContent::Fifo | LeafContent::Socket => (LAYOUT_FLAT_PLAIN, 0, 0, &[]),
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

/// Writes one inode after its alignment padding; returns where it starts.
fn write_inode(out: &mut impl Sink, inode: &PlanInode<'_>, index: usize, at: &Known<'_>, scratch: &mut Vec<u8>) -> usize {
    let (layout, u, size, tail) = data_of(inode, index, at);
    let xattr_size = inode.xattr_size();
    out.pad(INODE_SLOT);
    if layout == LAYOUT_FLAT_INLINE {
        // Inline data must not cross a block boundary: if it would, start
        // the inode near the end of the block (composefs-rs's rule,
        // including its off-by-one at an exact boundary).
        let start = (out.len() + EXTENDED_INODE_SIZE + xattr_size) as u64;
        let last_meta = start - 1;
        let end = start + size % BLOCK_SIZE as u64;
        let bs = BLOCK_SIZE as u64;
        if last_meta / bs != end / bs {
            out.zeros((bs - last_meta % bs) as usize);
            out.pad(INODE_SLOT);
        }
    }
    let start = out.len();
    let icount = if xattr_size == 0 { 0 } else { 1 + (xattr_size - XATTR_IBODY_HEADER_SIZE) / 4 };
    let header = ExtendedInode {
        format: FORMAT_EXTENDED | layout,
        xattr_icount: icount as u16,
        mode: (inode.file_type.ifmt() | inode.stat.mode) as u16,
        size,
        u,
        ino: (out.len() / INODE_SLOT) as u32,
        uid: inode.stat.uid,
        gid: inode.stat.gid,
        mtime: inode.stat.mtime as u64,
        nlink: inode.nlink,
    };
    out.write(&header.encode());
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
    let at = Known(known);
    let mut found = Offsets::default();
    let mut scratch = Vec::new();
    out.write(&composefs_header());
    out.pad(SUPERBLOCK_OFFSET);
    let root_nid = at.nid(0) as u16;
    out.write(&superblock(root_nid, plan.inodes.len() as u64, (known.end / BLOCK_SIZE) as u32));
    for (index, inode) in plan.inodes.iter().enumerate() {
        found.inodes.push(write_inode(out, inode, index, &at, &mut scratch));
    }
    for x in &plan.shared {
        found.xattrs.push(out.len());
        scratch.clear();
        x.encode_into(&mut scratch);
        out.write(&scratch);
    }
    out.pad(BLOCK_SIZE);
    for inode in &plan.inodes {
        found.blocks.push(out.len());
        if let Body::Dir { blocks, .. } = &inode.body {
            for block in blocks {
                write_dirents(out, block, &at);
                out.pad(BLOCK_SIZE);
            }
        }
    }
    found.end = out.len();
    found
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

/// The composefs EROFS image of `tree`, byte for byte as composefs-rs
/// writes it.
pub fn write(tree: &Tree) -> Result<Vec<u8>, Error> {
    let plan = plan(tree);
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
pub fn image_id(tree: &Tree) -> Result<Vec<u8>, Error> {
    let image = write(tree)?;
    let params = Params::new(tree.algorithm(), 12).expect("4 KiB blocks are valid");
    let mut hasher = FileHasher::new(params);
    hasher.update(&image);
    Ok(hasher.finish())
}
