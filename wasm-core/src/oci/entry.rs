//! One tar member of a layer as composefs-rs's `tar::get_entry` sees it:
//! an absolute path, the header's metadata, and what the member is — a
//! directory, a leaf (file content inline or by object reference, symlink,
//! device, FIFO) or a hard link to another path.

use super::error::Error;
use crate::dumpfile::{field, xattr_fields};
use crate::tar::Entry;
use crate::tree::{LeafContent, ObjectId, RegularFile, Xattrs, INLINE_CONTENT_MAX};

/// The metadata a tar header gives a member, as composefs-rs keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntryStat {
    /// The header's mode field as written; some tars include file-type
    /// bits, which composefs-rs ORs with the type.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime: i64,
    /// From the PAX mtime record's fraction (composefs-rs 0.9 keeps it).
    pub mtime_nsec: u32,
    pub xattrs: Xattrs,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerItem {
    Directory,
    Leaf(LeafContent),
    /// The absolute path of the member this one is another name for.
    Hardlink(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerEntry {
    /// "/" and the tar name without leading or trailing slashes; empty for
    /// the layer's own root directory ("./").
    pub path: Vec<u8>,
    pub stat: EntryStat,
    pub item: LayerItem,
}

/// composefs-rs `make_absolute_path`: one leading "/", no trailing "/",
/// and the bare root as the empty path.
pub fn absolute_path(tar_path: &[u8]) -> Vec<u8> {
    let rest = tar_path.strip_prefix(b"/").unwrap_or(tar_path);
    let mut path = Vec::with_capacity(rest.len() + 1);
    path.push(b'/');
    path.extend_from_slice(rest);
    while path.len() > 1 && path.last() == Some(&b'/') {
        path.pop();
    }
    if path == b"/" {
        path.clear();
    }
    path
}

/// glibc's `makedev`.
pub fn makedev(major: u32, minor: u32) -> u64 {
    let (major, minor) = (u64::from(major), u64::from(minor));
    ((major & 0xffff_f000) << 32) | ((major & 0xfff) << 8) | ((minor & 0xffff_ff00) << 12) | (minor & 0xff)
}

/// Types whose data is a regular file's ('\0' arrives as '0').
pub fn is_regular(typeflag: u8) -> bool {
    matches!(typeflag, b'0' | b'7')
}

fn stat_of(entry: &Entry) -> EntryStat {
    EntryStat {
        mode: entry.mode,
        // composefs-rs keeps the low 32 bits, as `as u32` does.
        uid: entry.uid as u32,
        gid: entry.gid as u32,
        mtime: entry.mtime,
        mtime_nsec: entry.mtime_nsec,
        xattrs: entry.xattrs.iter().map(|(n, v)| (n.as_slice().into(), v.as_slice().into())).collect(),
    }
}

fn type_name(typeflag: u8) -> String {
    match typeflag {
        b' '..=b'~' => format!("'{}'", typeflag as char),
        _ => format!("0x{typeflag:02x}"),
    }
}

/// The member whose content was inline in the stream (`content` is that
/// content, empty for types that have none).
pub fn inline_entry(entry: &Entry, content: Vec<u8>) -> Result<LayerEntry, Error> {
    let item = match entry.typeflag {
        b'5' => LayerItem::Directory,
        t if is_regular(t) => {
            if content.len() > INLINE_CONTENT_MAX {
                return Err(format!("a {}-byte file is stored inline (at most {INLINE_CONTENT_MAX} bytes may be)", content.len()).into());
            }
            LayerItem::Leaf(LeafContent::Regular(RegularFile::Inline(content.into())))
        }
        b'1' => LayerItem::Hardlink(absolute_path(&entry.link_path)),
        b'2' => LayerItem::Leaf(LeafContent::Symlink(entry.link_path.as_slice().into())),
        b'3' => LayerItem::Leaf(LeafContent::CharDevice(makedev(entry.dev_major, entry.dev_minor))),
        b'4' => LayerItem::Leaf(LeafContent::BlockDevice(makedev(entry.dev_major, entry.dev_minor))),
        b'6' => LayerItem::Leaf(LeafContent::Fifo),
        other => return Err(Error::unsupported(format!("unsupported tar entry type {}", type_name(other)))),
    };
    Ok(LayerEntry { path: absolute_path(&entry.path), stat: stat_of(entry), item })
}

/// The member whose content is the object `id` (of `entry.size` bytes).
pub fn external_entry(entry: &Entry, id: ObjectId) -> Result<LayerEntry, Error> {
    if !is_regular(entry.typeflag) {
        return Err(format!("a tar entry of type {} has its content stored as an object", type_name(entry.typeflag)).into());
    }
    if entry.size <= INLINE_CONTENT_MAX as u64 {
        return Err(format!("a {}-byte file is stored as an object (files of at most {INLINE_CONTENT_MAX} bytes are inline)", entry.size).into());
    }
    let content = LeafContent::Regular(RegularFile::External { id, size: entry.size });
    Ok(LayerEntry { path: absolute_path(&entry.path), stat: stat_of(entry), item: LayerItem::Leaf(content) })
}

/// The dumpfile line composefs-rs prints for a layer member (`cfsctl oci
/// ls-layer`, `oci layer --dumpfile`): nlink 1, hard links as `@120000`
/// lines naming their target; with its newline.
pub fn dumpfile_line(entry: &LayerEntry, out: &mut Vec<u8>) {
    field(out, &entry.path);
    let stat = &entry.stat;
    let (ifmt, size, rdev, payload, content, digest): (u32, u64, u64, &[u8], &[u8], Option<String>) = match &entry.item {
        LayerItem::Hardlink(target) => {
            out.extend_from_slice(b" 0 @120000 - - - - 0.0 ");
            field(out, target);
            out.extend_from_slice(b" - -\n");
            return;
        }
        LayerItem::Directory => (0o040000, 0, 0, b"", b"", None),
        LayerItem::Leaf(leaf) => {
            let ifmt = leaf.file_type().ifmt();
            match leaf {
                LeafContent::Regular(RegularFile::Inline(data)) => (ifmt, data.len() as u64, 0, b"", data, None),
                LeafContent::Regular(RegularFile::External { id, size }) => {
                    let pathname = id.pathname();
                    write_fields(out, stat, ifmt, *size, 0);
                    field(out, pathname.as_bytes());
                    out.extend_from_slice(b" - ");
                    out.extend_from_slice(id.to_hex().as_bytes());
                    xattr_fields(out, &stat.xattrs);
                    return;
                }
                LeafContent::Symlink(target) => (ifmt, target.len() as u64, 0, target, b"", None),
                LeafContent::BlockDevice(rdev) | LeafContent::CharDevice(rdev) => (ifmt, 0, *rdev, b"", b"", None),
                LeafContent::Fifo | LeafContent::Socket => (ifmt, 0, 0, b"", b"", None),
            }
        }
    };
    write_fields(out, stat, ifmt, size, rdev);
    field(out, payload);
    out.push(b' ');
    field(out, content);
    out.push(b' ');
    out.extend_from_slice(digest.as_deref().unwrap_or("-").as_bytes());
    xattr_fields(out, &stat.xattrs);
}

fn write_fields(out: &mut Vec<u8>, stat: &EntryStat, ifmt: u32, size: u64, rdev: u64) {
    let mode = stat.mode | ifmt;
    out.extend_from_slice(format!(" {size} {mode:o} 1 {} {} {rdev} {}.{} ", stat.uid, stat.gid, stat.mtime, stat.mtime_nsec).as_bytes());
}

