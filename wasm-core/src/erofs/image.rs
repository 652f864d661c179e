//! Raw access to an image that may be hostile: every offset, count and size
//! is checked against the image before use, and nothing is trusted to be
//! what the writer would have made. The walk over the tree is `reader`.

use super::format::{
    le16, le32, le64, sb, BLOCK_BITS, BLOCK_SIZE, CHUNK_FORMAT_BLKBITS_MASK, CHUNK_FORMAT_INDEXES,
    COMPACT_INODE_SIZE, COMPOSEFS_EROFS_VERSION, COMPOSEFS_MAGIC, DIRENT_SIZE, EROFS_MAGIC, EXTENDED_INODE_SIZE,
    FEATURE_COMPAT_MTIME, FEATURE_COMPAT_SB_CHKSUM, FEATURE_COMPAT_XATTR_FILTER, FEATURE_INCOMPAT_CHUNKED_FILE,
    FORMAT_EXTENDED, INODE_SLOT, LAYOUT_CHUNK_BASED, LAYOUT_FLAT_INLINE, LAYOUT_FLAT_PLAIN, LAYOUT_MASK,
    SUPERBLOCK_OFFSET, SUPERBLOCK_SIZE, XATTR_ENTRY_HEADER_SIZE, XATTR_IBODY_HEADER_SIZE,
};
use super::error::Error;
use super::xattr::full_name;
use crate::tree::FileType;

/// Images are metadata only; composefs-rs refuses anything over 1 GiB too.
pub const MAX_IMAGE_SIZE: usize = 1 << 30;

pub type Result<T> = std::result::Result<T, Error>;

pub struct Image<'a> {
    pub data: &'a [u8],
    pub root_nid: u64,
    build_time: (u64, u32),
    xattr_base: usize,
}

pub struct Inode<'a> {
    pub nid: u64,
    pub file_type: FileType,
    /// Permission bits.
    pub mode: u32,
    pub nlink: u32,
    pub size: u64,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    pub mtime_nsec: u32,
    /// `i_u`: first block, device number or chunk format.
    pub u: u32,
    pub layout: u16,
    /// The inode's xattr area (empty without xattrs).
    pub xattrs: &'a [u8],
    /// What follows the xattrs: inline data or chunk indexes.
    pub tail: &'a [u8],
}

/// One xattr as stored: its full name and value.
pub struct RawXattr<'a> {
    pub name: Vec<u8>,
    pub value: &'a [u8],
}

fn slice(data: &[u8], start: u64, len: u64) -> Option<&[u8]> {
    let end = start.checked_add(len)?;
    data.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
}

impl<'a> Image<'a> {
    /// Checks the composefs header and that the superblock asks for nothing
    /// composefs does not use (compression, devices, custom prefixes…).
    pub fn open(data: &'a [u8]) -> Result<Self> {
        if data.len() > MAX_IMAGE_SIZE {
            return Err(Error::limit(format!("{} bytes is larger than any composefs image (1 GiB at most)", data.len())));
        }
        if data.len() < SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE {
            return Err(format!("{} bytes is too short for an EROFS image (truncated?)", data.len()).into());
        }
        if le32(data, 0) != COMPOSEFS_MAGIC {
            return Err(format!("bad composefs magic {:#010x} (not a composefs image)", le32(data, 0)).into());
        }
        if le32(data, 4) != COMPOSEFS_EROFS_VERSION {
            return Err(Error::unsupported(format!("unsupported composefs header version {}", le32(data, 4))));
        }
        let s = &data[SUPERBLOCK_OFFSET..SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE];
        if le32(s, sb::MAGIC) != EROFS_MAGIC {
            return Err(format!("bad EROFS superblock magic {:#010x}", le32(s, sb::MAGIC)).into());
        }
        if s[sb::BLKSZBITS] != BLOCK_BITS {
            return Err(Error::unsupported(format!("block size 2^{} is not composefs's 4096", s[sb::BLKSZBITS])));
        }
        let compat = le32(s, sb::FEATURE_COMPAT);
        let known = FEATURE_COMPAT_SB_CHKSUM | FEATURE_COMPAT_MTIME | FEATURE_COMPAT_XATTR_FILTER;
        if compat & !known != 0 {
            return Err(Error::unsupported(format!("unsupported compatible features {:#x}", compat & !known)));
        }
        let incompat = le32(s, sb::FEATURE_INCOMPAT);
        if incompat & !FEATURE_INCOMPAT_CHUNKED_FILE != 0 {
            return Err(Error::unsupported(format!("unsupported incompatible features {:#x} (compression? devices?)", incompat)));
        }
        let checks: [(&str, u64); 6] = [
            ("compression algorithms", u64::from(le16(s, sb::COMPR_ALGS))),
            ("extra devices", u64::from(le16(s, sb::EXTRA_DEVICES))),
            ("superblock extension slots", u64::from(s[sb::EXTSLOTS])),
            ("a packed inode", le64(s, sb::PACKED_NID)),
            ("a metadata block address", u64::from(le32(s, sb::META_BLKADDR))),
            ("custom xattr prefixes", u64::from(s[sb::XATTR_PREFIX_COUNT])),
        ];
        if let Some((what, value)) = checks.iter().find(|(_, v)| *v != 0) {
            return Err(Error::unsupported(format!("composefs images have no {what} (found {value})")));
        }
        let xattr_base = le32(s, sb::XATTR_BLKADDR) as usize * BLOCK_SIZE;
        if xattr_base > data.len() {
            return Err(format!("shared xattr area at {xattr_base} is past the end of the image").into());
        }
        let blocks = u64::from(le32(s, sb::BLOCKS));
        if blocks.saturating_mul(BLOCK_SIZE as u64) > data.len() as u64 {
            return Err(format!("superblock claims {blocks} blocks but the image has {} bytes (truncated?)", data.len()).into());
        }
        Ok(Self {
            data,
            root_nid: u64::from(le16(s, sb::ROOT_NID)),
            build_time: (le64(s, sb::BUILD_TIME), le32(s, sb::BUILD_TIME_NSEC)),
            xattr_base,
        })
    }

    pub fn inode(&self, nid: u64) -> Result<Inode<'a>> {
        let bad = |why: &str| Error::malformed(format!("inode {nid}: {why}"));
        let start = nid.checked_mul(INODE_SLOT as u64).ok_or_else(|| bad("number out of range"))?;
        if start < (SUPERBLOCK_OFFSET + SUPERBLOCK_SIZE) as u64 {
            return Err(bad("overlaps the superblock"));
        }
        let head = slice(self.data, start, COMPACT_INODE_SIZE as u64).ok_or_else(|| bad("past the end of the image"))?;
        let format = le16(head, 0);
        if format & !(FORMAT_EXTENDED | LAYOUT_MASK) != 0 {
            return Err(Error::unsupported(format!("inode {nid}: unsupported inode format {format:#x}")));
        }
        let layout = format & LAYOUT_MASK;
        if ![LAYOUT_FLAT_PLAIN, LAYOUT_FLAT_INLINE, LAYOUT_CHUNK_BASED].contains(&layout) {
            return Err(Error::unsupported(format!("inode {nid}: unsupported data layout {} (compressed?)", layout >> 1)));
        }
        let extended = format & FORMAT_EXTENDED != 0;
        let header_len = if extended { EXTENDED_INODE_SIZE } else { COMPACT_INODE_SIZE } as u64;
        let h = slice(self.data, start, header_len).ok_or_else(|| bad("past the end of the image"))?;
        let raw_mode = u32::from(le16(h, 4));
        let file_type = FileType::from_mode(raw_mode).ok_or_else(|| bad(&format!("invalid mode {raw_mode:o}")))?;
        let (size, nlink, uid, gid, (mtime, mtime_nsec)) = if extended {
            (le64(h, 8), le32(h, 44), le32(h, 24), le32(h, 28), (le64(h, 32), le32(h, 40)))
        } else {
            // Compact inodes have no mtime: the kernel shows the build time.
            (u64::from(le32(h, 8)), u32::from(le16(h, 6)), u32::from(le16(h, 24)), u32::from(le16(h, 26)), self.build_time)
        };
        if mtime_nsec >= 1_000_000_000 {
            return Err(bad(&format!("mtime nanoseconds {mtime_nsec} are not below 1000000000")));
        }
        let mtime = mtime as i64;
        let icount = u64::from(le16(h, 2));
        let xattr_len = if icount == 0 { 0 } else { XATTR_IBODY_HEADER_SIZE as u64 + 4 * (icount - 1) };
        let xattrs = slice(self.data, start + header_len, xattr_len).ok_or_else(|| bad("xattrs run past the end"))?;
        let mut tail_start = start + header_len + xattr_len;
        let u = le32(h, 16);
        let tail_len = match layout {
            LAYOUT_FLAT_PLAIN => 0,
            LAYOUT_FLAT_INLINE => size % BLOCK_SIZE as u64,
            _ => {
                if u & !(CHUNK_FORMAT_BLKBITS_MASK | CHUNK_FORMAT_INDEXES) != 0 {
                    return Err(Error::unsupported(format!("inode {nid}: unsupported chunk format {u:#x}")));
                }
                let unit = if u & CHUNK_FORMAT_INDEXES != 0 { 8 } else { 4 };
                tail_start = tail_start.next_multiple_of(unit);
                let chunk_bits = u32::from(BLOCK_BITS) + (u & CHUNK_FORMAT_BLKBITS_MASK);
                let chunks = if chunk_bits >= 64 { u64::from(size > 0) } else { size.div_ceil(1 << chunk_bits) };
                chunks.checked_mul(unit).ok_or_else(|| bad("absurd chunk count"))?
            }
        };
        if layout == LAYOUT_FLAT_INLINE && tail_start % BLOCK_SIZE as u64 + tail_len > BLOCK_SIZE as u64 {
            return Err(bad("inline data crosses a block boundary"));
        }
        let tail = slice(self.data, tail_start, tail_len).ok_or_else(|| bad("inline data runs past the end"))?;
        Ok(Inode { nid, file_type, mode: raw_mode & 0o7777, nlink, size, uid, gid, mtime, mtime_nsec, u, layout, xattrs, tail })
    }

    /// A file's data as block-sized pieces in order, the inline tail last.
    pub fn data(&self, inode: &Inode<'a>) -> Result<Vec<&'a [u8]>> {
        let bs = BLOCK_SIZE as u64;
        let full = match inode.layout {
            LAYOUT_FLAT_PLAIN => inode.size,
            LAYOUT_FLAT_INLINE => inode.size - inode.size % bs,
            _ => return Err(format!("inode {}: chunk-based data is not stored in composefs images", inode.nid).into()),
        };
        if full > self.data.len() as u64 {
            return Err(format!("inode {}: size {} is larger than the image", inode.nid, inode.size).into());
        }
        let mut pieces: Vec<&[u8]> = Vec::new();
        if full > 0 {
            let first = u64::from(inode.u) * bs;
            let blocks = slice(self.data, first, full).ok_or_else(|| {
                format!("inode {}: data blocks at block {} run past the end of the image", inode.nid, inode.u)
            })?;
            pieces.extend(blocks.chunks(BLOCK_SIZE));
        }
        if !inode.tail.is_empty() {
            pieces.push(inode.tail);
        }
        Ok(pieces)
    }

    /// The xattrs of an inode, shared ones first, as stored.
    pub fn xattrs(&self, inode: &Inode<'a>) -> Result<Vec<RawXattr<'a>>> {
        let area = inode.xattrs;
        if area.is_empty() {
            return Ok(Vec::new());
        }
        let bad = |why: String| Error::malformed(format!("inode {}: {why}", inode.nid));
        let shared = usize::from(area[4]);
        let ids_end = XATTR_IBODY_HEADER_SIZE + 4 * shared;
        if ids_end > area.len() {
            return Err(bad(format!("{shared} shared xattrs do not fit its xattr area")));
        }
        let mut out = Vec::new();
        for i in 0..shared {
            let id = u64::from(le32(area, XATTR_IBODY_HEADER_SIZE + 4 * i));
            let at = (self.xattr_base as u64).checked_add(id * 4).ok_or_else(|| bad("shared xattr id overflows".into()))?;
            let rest = usize::try_from(at).ok().and_then(|at| self.data.get(at..));
            let entry = rest.ok_or_else(|| bad(format!("shared xattr {id} is past the end of the image")))?;
            let (x, _) = entry_at(entry).map_err(|e| bad(format!("shared xattr {id}: {e}")))?;
            out.push(x);
        }
        let mut local = &area[ids_end..];
        while !local.is_empty() {
            let (x, len) = entry_at(local).map_err(|e| bad(format!("xattr: {e}")))?;
            out.push(x);
            local = &local[len..];
        }
        Ok(out)
    }
}

/// The xattr entry at the start of `bytes` and its padded length.
fn entry_at(bytes: &[u8]) -> Result<(RawXattr<'_>, usize)> {
    if bytes.len() < XATTR_ENTRY_HEADER_SIZE {
        return Err("truncated entry header".into());
    }
    let (name_len, index, value_len) = (usize::from(bytes[0]), bytes[1], usize::from(le16(bytes, 2)));
    let end = XATTR_ENTRY_HEADER_SIZE + name_len + value_len;
    if end > bytes.len() {
        return Err("entry runs past its area".into());
    }
    let suffix = &bytes[XATTR_ENTRY_HEADER_SIZE..XATTR_ENTRY_HEADER_SIZE + name_len];
    let name = full_name(index, suffix).ok_or_else(|| format!("unknown xattr name prefix index {index}"))?;
    let value = &bytes[XATTR_ENTRY_HEADER_SIZE + name_len..end];
    Ok((RawXattr { name, value }, end.next_multiple_of(4).min(bytes.len())))
}

/// One directory block (or inline tail): (nid, dirent file type, name).
pub fn dirents(block: &[u8]) -> Result<Vec<(u64, u8, &[u8])>> {
    if block.len() < DIRENT_SIZE {
        return Err(format!("directory block of {} bytes has no room for an entry", block.len()).into());
    }
    let first = usize::from(le16(block, 8));
    if first < DIRENT_SIZE || first % DIRENT_SIZE != 0 || first > block.len() {
        return Err(format!("invalid first name offset {first} in a {}-byte directory block", block.len()).into());
    }
    let count = first / DIRENT_SIZE;
    let mut out = Vec::with_capacity(count);
    for i in 0..count {
        let at = i * DIRENT_SIZE;
        let start = usize::from(le16(block, at + 8));
        let end = if i + 1 < count { usize::from(le16(block, at + DIRENT_SIZE + 8)) } else { block.len() };
        if start < first || start > end || end > block.len() {
            return Err(format!("directory entry {i} has name offsets {start}..{end} outside its block").into());
        }
        let mut name = &block[start..end];
        if i + 1 == count {
            // The last name runs to the first NUL or the end of the block.
            name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        }
        out.push((le64(block, at), block[at + 10], name));
    }
    Ok(out)
}
