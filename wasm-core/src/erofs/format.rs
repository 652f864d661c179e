//! EROFS on-disk structures as composefs uses them (all little-endian),
//! from the kernel's `fs/erofs/erofs_fs.h` and composefs's header.
//!
//! Layout of a composefs image: the 32-byte composefs header at 0, the
//! EROFS superblock at 1024, inodes from 1152 on (32-byte slots, so an
//! inode's number "nid" is its offset / 32), shared xattrs after them, then
//! directory blocks from the next 4096-byte boundary.

pub const BLOCK_BITS: u8 = 12;
pub const BLOCK_SIZE: usize = 1 << BLOCK_BITS;

pub const COMPOSEFS_MAGIC: u32 = 0xd078_629a;
/// The EROFS format version recorded in the composefs header.
pub const COMPOSEFS_EROFS_VERSION: u32 = 1;
pub const COMPOSEFS_HEADER_SIZE: usize = 32;
/// Composefs header flag: some inode has a POSIX ACL xattr (V0/V1 only).
pub const COMPOSEFS_FLAGS_HAS_ACL: u32 = 1;

/// composefs-rs 0.9's `FormatVersion`. V0 and V1 share one layout
/// ("epoch 1": compact inodes where they fit, breadth-first inode order, a
/// table of 256 whiteout stubs, the build time the oldest mtime) and differ
/// only in the header's `composefs_version`; V2 is composefs-rs's original
/// layout (extended inodes, depth-first, no nanoseconds).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FormatVersion {
    V0,
    /// The default of new composefs-rs 0.9 repositories.
    #[default]
    V1,
    V2,
}

impl FormatVersion {
    /// True for V0 and V1.
    pub fn compact_layout(self) -> bool {
        self != Self::V2
    }

    /// The header's `composefs_version` (V0 writes 0 even with whiteouts,
    /// as composefs-rs 0.9's code does).
    pub fn composefs_version(self) -> u32 {
        match self {
            Self::V0 => 0,
            Self::V1 => 1,
            Self::V2 => 2,
        }
    }
}

pub const SUPERBLOCK_OFFSET: usize = 1024;
pub const SUPERBLOCK_SIZE: usize = 128;
pub const EROFS_MAGIC: u32 = 0xe0f5_e1e2;

pub const FEATURE_COMPAT_SB_CHKSUM: u32 = 1;
pub const FEATURE_COMPAT_MTIME: u32 = 2;
pub const FEATURE_COMPAT_XATTR_FILTER: u32 = 4;
pub const FEATURE_INCOMPAT_CHUNKED_FILE: u32 = 4;

pub const INODE_SLOT: usize = 32;
pub const COMPACT_INODE_SIZE: usize = 32;
pub const EXTENDED_INODE_SIZE: usize = 64;

/// `i_format`: bit 0 the inode version (0 compact, 1 extended), bits 1-3 the
/// data layout.
pub const FORMAT_EXTENDED: u16 = 1;
pub const LAYOUT_MASK: u16 = 0b1110;
pub const LAYOUT_FLAT_PLAIN: u16 = 0;
pub const LAYOUT_FLAT_INLINE: u16 = 2 << 1;
pub const LAYOUT_CHUNK_BASED: u16 = 4 << 1;

/// `i_u` of V2 external files: chunk format "one chunk covers 2^(12+31)
/// bytes", followed by a single 4-byte null block address.
pub const CHUNK_FORMAT_EXTERNAL: u32 = 31;
pub const CHUNK_FORMAT_BLKBITS_MASK: u32 = 0x1f;
pub const CHUNK_FORMAT_INDEXES: u32 = 0x20;
pub const NULL_CHUNK: [u8; 4] = [0xff; 4];

pub const XATTR_IBODY_HEADER_SIZE: usize = 12;
pub const XATTR_ENTRY_HEADER_SIZE: usize = 4;
pub const XATTR_FILTER_SEED: u32 = 0x25bb_e08f;
/// Name prefixes by `e_name_index`.
pub const XATTR_PREFIXES: [&[u8]; 7] = [
    b"",
    b"user.",
    b"system.posix_acl_access",
    b"system.posix_acl_default",
    b"trusted.",
    b"lustre.",
    b"security.",
];

pub const DIRENT_SIZE: usize = 12;
/// Directory entry file types (`EROFS_FT_*`).
pub const FT_REGULAR: u8 = 1;
pub const FT_DIRECTORY: u8 = 2;
pub const FT_CHARDEV: u8 = 3;
pub const FT_BLKDEV: u8 = 4;
pub const FT_FIFO: u8 = 5;
pub const FT_SOCKET: u8 = 6;
pub const FT_SYMLINK: u8 = 7;

use crate::tree::FileType;

pub fn dirent_type(t: FileType) -> u8 {
    match t {
        FileType::Regular => FT_REGULAR,
        FileType::Directory => FT_DIRECTORY,
        FileType::CharDevice => FT_CHARDEV,
        FileType::BlockDevice => FT_BLKDEV,
        FileType::Fifo => FT_FIFO,
        FileType::Socket => FT_SOCKET,
        FileType::Symlink => FT_SYMLINK,
    }
}

/// Little-endian field access on a slice the caller has bounds-checked.
pub fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

pub fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

pub fn le64(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    v.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(v)
}

/// The fields of an inode header the writer sets; `encode` makes the
/// compact (32-byte) or extended (64-byte) form.
pub struct InodeHeader {
    pub layout: u16,
    pub xattr_icount: u16,
    pub mode: u16,
    pub size: u64,
    pub u: u32,
    pub ino: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: u64,
    pub mtime_nsec: u32,
    pub nlink: u32,
}

impl InodeHeader {
    /// `erofs_inode_compact`: no mtime (the kernel shows the build time),
    /// 16-bit nlink, uid and gid, 32-bit size; the caller checked they fit.
    pub fn encode_compact(&self, out: &mut [u8; COMPACT_INODE_SIZE]) {
        out.fill(0);
        out[0..2].copy_from_slice(&self.layout.to_le_bytes());
        out[2..4].copy_from_slice(&self.xattr_icount.to_le_bytes());
        out[4..6].copy_from_slice(&self.mode.to_le_bytes());
        out[6..8].copy_from_slice(&(self.nlink as u16).to_le_bytes());
        out[8..12].copy_from_slice(&(self.size as u32).to_le_bytes());
        out[16..20].copy_from_slice(&self.u.to_le_bytes());
        out[20..24].copy_from_slice(&self.ino.to_le_bytes());
        out[24..26].copy_from_slice(&(self.uid as u16).to_le_bytes());
        out[26..28].copy_from_slice(&(self.gid as u16).to_le_bytes());
    }

    /// `erofs_inode_extended`.
    pub fn encode_extended(&self) -> [u8; EXTENDED_INODE_SIZE] {
        let mut b = [0u8; EXTENDED_INODE_SIZE];
        b[0..2].copy_from_slice(&(FORMAT_EXTENDED | self.layout).to_le_bytes());
        b[2..4].copy_from_slice(&self.xattr_icount.to_le_bytes());
        b[4..6].copy_from_slice(&self.mode.to_le_bytes());
        // 6..8 reserved
        b[8..16].copy_from_slice(&self.size.to_le_bytes());
        b[16..20].copy_from_slice(&self.u.to_le_bytes());
        b[20..24].copy_from_slice(&self.ino.to_le_bytes());
        b[24..28].copy_from_slice(&self.uid.to_le_bytes());
        b[28..32].copy_from_slice(&self.gid.to_le_bytes());
        b[32..40].copy_from_slice(&self.mtime.to_le_bytes());
        b[40..44].copy_from_slice(&self.mtime_nsec.to_le_bytes());
        b[44..48].copy_from_slice(&self.nlink.to_le_bytes());
        // 48..64 reserved
        b
    }
}

/// The composefs header (magic, EROFS version, flags, composefs version).
pub fn composefs_header(flags: u32, composefs_version: u32) -> [u8; COMPOSEFS_HEADER_SIZE] {
    let mut b = [0u8; COMPOSEFS_HEADER_SIZE];
    b[0..4].copy_from_slice(&COMPOSEFS_MAGIC.to_le_bytes());
    b[4..8].copy_from_slice(&COMPOSEFS_EROFS_VERSION.to_le_bytes());
    b[8..12].copy_from_slice(&flags.to_le_bytes());
    b[12..16].copy_from_slice(&composefs_version.to_le_bytes());
    b
}

/// The superblock fields composefs-rs sets.
pub struct SuperblockFields {
    pub root_nid: u16,
    pub inos: u64,
    pub blocks: u32,
    pub build_time: (u64, u32),
    pub xattr_blkaddr: u32,
}

/// The superblock composefs-rs writes: mtime and xattr-filter features,
/// no checksum, everything in one address space.
pub fn superblock(f: &SuperblockFields) -> [u8; SUPERBLOCK_SIZE] {
    let mut b = [0u8; SUPERBLOCK_SIZE];
    b[0..4].copy_from_slice(&EROFS_MAGIC.to_le_bytes());
    b[8..12].copy_from_slice(&(FEATURE_COMPAT_MTIME | FEATURE_COMPAT_XATTR_FILTER).to_le_bytes());
    b[12] = BLOCK_BITS;
    b[14..16].copy_from_slice(&f.root_nid.to_le_bytes());
    b[16..24].copy_from_slice(&f.inos.to_le_bytes());
    b[24..32].copy_from_slice(&f.build_time.0.to_le_bytes());
    b[32..36].copy_from_slice(&f.build_time.1.to_le_bytes());
    b[36..40].copy_from_slice(&f.blocks.to_le_bytes());
    b[44..48].copy_from_slice(&f.xattr_blkaddr.to_le_bytes());
    b
}

/// Offsets of the superblock fields the reader checks.
pub mod sb {
    pub const MAGIC: usize = 0;
    pub const FEATURE_COMPAT: usize = 8;
    pub const BLKSZBITS: usize = 12;
    pub const EXTSLOTS: usize = 13;
    pub const ROOT_NID: usize = 14;
    pub const BUILD_TIME: usize = 24;
    pub const BUILD_TIME_NSEC: usize = 32;
    pub const BLOCKS: usize = 36;
    pub const META_BLKADDR: usize = 40;
    pub const XATTR_BLKADDR: usize = 44;
    pub const FEATURE_INCOMPAT: usize = 80;
    pub const COMPR_ALGS: usize = 84;
    pub const EXTRA_DEVICES: usize = 86;
    pub const XATTR_PREFIX_COUNT: usize = 91;
    pub const PACKED_NID: usize = 96;
}
