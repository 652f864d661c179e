//! A tar member as the splitter reports it: its header fields after the
//! PAX and GNU records before it have been applied.

use super::header::Header;
use crate::error::ErrorKind;
use super::pax::{parse_decimal, parse_time, Records, XATTR_PREFIX};

/// Member types whose size field, whatever it says, is followed by no data
/// (Go's isHeaderOnlyType): hard link, symlink, char/block device,
/// directory, FIFO.
fn header_only(typeflag: u8) -> bool {
    matches!(typeflag, b'1' | b'2' | b'3' | b'4' | b'5' | b'6')
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// 0-based count of members before this one (extension headers are not
    /// members).
    pub index: u64,
    /// `'0'` regular (an old-style `'\0'` becomes `'0'`, or `'5'` when the
    /// name ends in '/'), `'1'` hard link, `'2'` symlink, `'3'`/`'4'`
    /// devices, `'5'` directory, `'6'` FIFO, `'7'` contiguous file; others
    /// are passed through.
    pub typeflag: u8,
    pub path: Vec<u8>,
    pub link_path: Vec<u8>,
    /// Bytes of content that follow in the archive: the header's size for
    /// files, 0 for types that have no data.
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: i64,
    pub mtime_nsec: u32,
    pub uname: Vec<u8>,
    pub gname: Vec<u8>,
    pub dev_major: u32,
    pub dev_minor: u32,
    /// From `SCHILY.xattr.*` records, sorted by name.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    /// Byte offset of the member's first header block (its PAX or GNU
    /// records included) and of its content.
    pub header_offset: u64,
    pub content_offset: u64,
}

/// GNU long name / long link data and the PAX records seen before a member.
#[derive(Default)]
pub(crate) struct Pending {
    pub pax: Option<Records>,
    pub long_name: Option<Vec<u8>>,
    pub long_link: Option<Vec<u8>>,
    /// Where the first of them started.
    pub offset: Option<u64>,
}

impl Pending {
    pub fn is_empty(&self) -> bool {
        self.offset.is_none()
    }
}

fn unsigned<T: TryFrom<i64>>(field: &str, value: i64) -> Result<T, String> {
    if value < 0 {
        return Err(format!("negative {field} {value}"));
    }
    T::try_from(value).map_err(|_| format!("{field} {value} is too large"))
}

fn pax_number(key: &str, value: &[u8]) -> Result<i64, String> {
    parse_decimal(value).ok_or_else(|| format!("PAX {key} {:?} is not a number", String::from_utf8_lossy(value)))
}

/// Why a member cannot be built: its kind of failure and what is wrong.
pub(crate) type EntryProblem = (ErrorKind, String);

fn malformed(message: String) -> EntryProblem {
    (ErrorKind::Malformed, message)
}

/// Builds the member from its header block and what came before it.
pub(crate) fn build_entry(header: Header, pending: Pending, index: u64, offsets: (u64, u64)) -> Result<Entry, EntryProblem> {
    let Header { mut typeflag, mut name, link_name, size, mode, uid, gid, mtime, uname, gname, dev_major, dev_minor } =
        header;
    let (mut link_path, mut uname, mut gname) = (link_name, uname, gname);
    let (mut size, mut uid, mut gid, mut mtime, mut mtime_nsec) = (size, uid, gid, mtime, 0u32);
    let mut xattrs = Vec::new();
    for (key, value) in pending.pax.unwrap_or_default() {
        if key.starts_with(b"GNU.sparse.") {
            return Err((ErrorKind::Unsupported, "GNU sparse files are not supported".into()));
        }
        // An empty value keeps the header's own field, as Go does.
        if value.is_empty() && !key.starts_with(XATTR_PREFIX) {
            continue;
        }
        match key.as_slice() {
            b"path" => name = value,
            b"linkpath" => link_path = value,
            b"uname" => uname = value,
            b"gname" => gname = value,
            b"uid" => uid = pax_number("uid", &value).map_err(malformed)?,
            b"gid" => gid = pax_number("gid", &value).map_err(malformed)?,
            b"size" => size = pax_number("size", &value).map_err(malformed)?,
            b"mtime" => {
                (mtime, mtime_nsec) = parse_time(&value)
                    .ok_or_else(|| malformed(format!("PAX mtime {:?} is not a time", String::from_utf8_lossy(&value))))?;
            }
            _ => {
                if let Some(attr) = key.strip_prefix(XATTR_PREFIX) {
                    xattrs.push((attr.to_vec(), value));
                }
            }
        }
    }
    if let Some(long) = pending.long_name {
        name = long;
    }
    if let Some(long) = pending.long_link {
        link_path = long;
    }
    if typeflag == 0 {
        typeflag = if name.last() == Some(&b'/') { b'5' } else { b'0' };
    }
    if typeflag == b'S' {
        return Err((ErrorKind::Unsupported, "GNU sparse files are not supported".into()));
    }
    let size: u64 = unsigned("size", size).map_err(malformed)?;
    let (header_offset, content_offset) = offsets;
    Ok(Entry {
        index,
        typeflag,
        path: name,
        link_path,
        size: if header_only(typeflag) { 0 } else { size },
        mode: unsigned("mode", mode).map_err(malformed)?,
        uid: unsigned("uid", uid).map_err(malformed)?,
        gid: unsigned("gid", gid).map_err(malformed)?,
        mtime,
        mtime_nsec,
        uname,
        gname,
        dev_major: unsigned("devmajor", dev_major).map_err(malformed)?,
        dev_minor: unsigned("devminor", dev_minor).map_err(malformed)?,
        xattrs,
        header_offset,
        content_offset,
    })
}
