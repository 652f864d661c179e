//! Dumpfile text → tree, strictly: a dumpfile may come from anywhere, so
//! every field is checked and any problem is an error naming the line.
//!
//! Fields: `PATH SIZE MODE NLINK UID GID RDEV MTIME PAYLOAD CONTENT DIGEST
//! XATTR…`. A MODE of `@…` makes the line a hard link whose PAYLOAD names
//! the target; its other fields are ignored, as composefs-dump(5) says.
//! NLINK is ignored (the tree derives it). MTIME is `SECONDS.NANOSECONDS`,
//! the nanoseconds a plain decimal number (`5` is 5 ns), as composefs-rs
//! writes and reads it.

use super::error::Error;
use super::escape::unescape;
use crate::fsverity::HashAlgorithm;
use crate::tree::{
    split_path, FileType, Leaf, LeafContent, NewEntry, ObjectId, RegularFile, Stat, Tree, MAX_INLINE_CONTENT,
    SYMLINK_MAX, XATTR_NAME_MAX, XATTR_VALUE_MAX,
};

struct Fields<'a> {
    parts: std::slice::Split<'a, u8, fn(&u8) -> bool>,
}

impl<'a> Fields<'a> {
    fn next(&mut self, name: &str) -> Result<&'a [u8], String> {
        match self.parts.next() {
            Some(b"") => Err(format!("empty {name} field (fields are separated by one space)")),
            Some(f) => Ok(f),
            None => Err(format!("missing {name} field")),
        }
    }
}

fn text(field: &[u8]) -> String {
    String::from_utf8_lossy(field).into_owned()
}

fn decimal<T: TryFrom<u64>>(field: &[u8], name: &str) -> Result<T, String> {
    let bad = || format!("{name} {:?} is not a decimal number in range", text(field));
    if field.is_empty() || field.len() > 20 || !field.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    let n: u64 = std::str::from_utf8(field).ok().and_then(|s| s.parse().ok()).ok_or_else(bad)?;
    T::try_from(n).map_err(|_| bad())
}

fn mtime(field: &[u8]) -> Result<(i64, u32), String> {
    let bad = || format!("mtime {:?} is not SECONDS.NANOSECONDS", text(field));
    let pos = field.iter().position(|&b| b == b'.').ok_or_else(bad)?;
    let (sec, nsec) = (&field[..pos], &field[pos + 1..]);
    let (negative, digits) = match sec.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, sec),
    };
    let magnitude: u64 = decimal(digits, "mtime seconds")?;
    let sec = if negative { 0i64.checked_sub_unsigned(magnitude) } else { i64::try_from(magnitude).ok() };
    let nsec: u32 = decimal(nsec, "mtime nanoseconds")?;
    if nsec >= 1_000_000_000 {
        return Err(format!("mtime nanoseconds {nsec} are not below 1000000000"));
    }
    Ok((sec.ok_or_else(bad)?, nsec))
}

/// `-` or an escaped value.
fn optional(field: &[u8]) -> Result<Option<Vec<u8>>, String> {
    if field == b"-" {
        Ok(None)
    } else {
        unescape(field).map(Some)
    }
}

fn canonical_path(field: &[u8], what: &str) -> Result<Vec<u8>, String> {
    let path = unescape(field).map_err(|e| format!("{what}: {e}"))?;
    split_path(&path).map_err(|e| format!("{what} {:?}: {e}", text(&path)))?;
    Ok(path)
}

fn xattr(field: &[u8], stat: &mut Stat) -> Result<(), String> {
    let eq = field.iter().position(|&b| b == b'=').ok_or_else(|| format!("xattr {:?} has no =", text(field)))?;
    let name = unescape(&field[..eq]).map_err(|e| format!("xattr name: {e}"))?;
    let value = unescape(&field[eq + 1..]).map_err(|e| format!("xattr {}: {e}", text(&name)))?;
    if name.is_empty() || name.len() > XATTR_NAME_MAX || name.contains(&0) {
        return Err(format!("xattr name {:?} must be 1 to {XATTR_NAME_MAX} bytes without NUL", text(&name)));
    }
    if value.len() > XATTR_VALUE_MAX {
        return Err(format!("xattr {} value of {} bytes is over {XATTR_VALUE_MAX}", text(&name), value.len()));
    }
    if stat.xattrs.insert(name.clone().into(), value.into()).is_some() {
        return Err(format!("xattr {} appears twice", text(&name)));
    }
    Ok(())
}

fn expect_none(value: &Option<Vec<u8>>, what: &str, kind: FileType) -> Result<(), String> {
    match value {
        None => Ok(()),
        Some(_) => Err(format!("a {} has no {what} (expected -)", kind.name())),
    }
}

/// One line as a tree insertion: (path, entry).
fn parse_line(line: &[u8], algorithm: HashAlgorithm) -> Result<(Vec<u8>, NewEntry), String> {
    let mut f = Fields { parts: line.split((|b| *b == b' ') as fn(&u8) -> bool) };
    let path = canonical_path(f.next("path")?, "path")?;
    let size: u64 = decimal(f.next("size")?, "size")?;
    let mode_field = f.next("mode")?;
    let (hardlink, octal) = match mode_field.strip_prefix(b"@") {
        Some(rest) => (true, rest),
        None => (false, mode_field),
    };
    let mode = std::str::from_utf8(octal)
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        .and_then(|s| u32::from_str_radix(s, 8).ok())
        .filter(|m| m & !0o177777 == 0)
        .ok_or_else(|| format!("mode {:?} is not an octal file mode", text(mode_field)))?;
    let kind = FileType::from_mode(mode).ok_or_else(|| format!("mode {mode:o} has no valid file type"))?;
    if hardlink {
        if kind == FileType::Directory {
            return Err("a directory cannot be a hard link".into());
        }
        for name in ["nlink", "uid", "gid", "rdev", "mtime"] {
            f.next(name)?;
        }
        let target = canonical_path(f.next("payload")?, "hard link target")?;
        return Ok((path, NewEntry::Hardlink(target.into())));
    }
    let _nlink: u32 = decimal(f.next("nlink")?, "nlink")?;
    let uid = decimal(f.next("uid")?, "uid")?;
    let gid = decimal(f.next("gid")?, "gid")?;
    let rdev: u64 = decimal(f.next("rdev")?, "rdev")?;
    let (mtime, mtime_nsec) = mtime(f.next("mtime")?)?;
    let payload = optional(f.next("payload")?).map_err(|e| format!("payload: {e}"))?;
    let content = optional(f.next("content")?).map_err(|e| format!("content: {e}"))?;
    let digest = match f.next("digest")? {
        b"-" => None,
        hex => Some(hex),
    };
    let mut stat = Stat { mode: mode & 0o7777, uid, gid, mtime, mtime_nsec, xattrs: Default::default() };
    for field in f.parts {
        xattr(field, &mut stat)?;
    }
    if rdev != 0 && !matches!(kind, FileType::BlockDevice | FileType::CharDevice) {
        return Err(format!("a {} has no device number (rdev {rdev})", kind.name()));
    }
    if kind != FileType::Regular && digest.is_some() {
        return Err(format!("a {} has no digest", kind.name()));
    }
    if kind != FileType::Regular {
        expect_none(&content, "content", kind)?;
    }
    if !matches!(kind, FileType::Regular | FileType::Symlink) {
        expect_none(&payload, "payload", kind)?;
        if size != 0 && kind != FileType::Directory {
            return Err(format!("a {} has size 0, not {size}", kind.name()));
        }
    }
    let content = match kind {
        FileType::Directory => return Ok((path, NewEntry::Directory(stat))),
        FileType::Regular => regular(size, payload, content, digest, algorithm)?,
        FileType::Symlink => {
            let target = payload.ok_or("a symlink needs its target as payload")?;
            if target.len() > SYMLINK_MAX {
                return Err(format!("symlink target of {} bytes is over {SYMLINK_MAX}", target.len()));
            }
            if size != target.len() as u64 {
                return Err(format!("symlink size {size} is not its target's length {}", target.len()));
            }
            LeafContent::Symlink(target.into())
        }
        FileType::BlockDevice => LeafContent::BlockDevice(rdev),
        FileType::CharDevice => LeafContent::CharDevice(rdev),
        FileType::Fifo => LeafContent::Fifo,
        FileType::Socket => LeafContent::Socket,
    };
    Ok((path, NewEntry::Leaf(Leaf { stat, content })))
}

fn regular(
    size: u64,
    payload: Option<Vec<u8>>,
    content: Option<Vec<u8>>,
    digest: Option<&[u8]>,
    algorithm: HashAlgorithm,
) -> Result<LeafContent, String> {
    let Some(payload) = payload else {
        if digest.is_some() {
            return Err("an inline file (no payload) has no digest".into());
        }
        let data = content.unwrap_or_default();
        if data.len() > MAX_INLINE_CONTENT {
            return Err(format!("inline content of {} bytes is over {MAX_INLINE_CONTENT}", data.len()));
        }
        if size != data.len() as u64 {
            return Err(format!("size {size} is not the inline content's length {}", data.len()));
        }
        return Ok(LeafContent::Regular(RegularFile::Inline(data.into())));
    };
    if content.is_some() {
        return Err("a file with a payload (an object) has no inline content".into());
    }
    let digest = digest.ok_or("an external file needs its fs-verity digest")?;
    let id = ObjectId::from_hex(digest, algorithm.digest_size()).ok_or_else(|| {
        format!("digest {:?} is not {} hex characters ({})", text(digest), 2 * algorithm.digest_size(), algorithm.name())
    })?;
    if payload != id.pathname().as_bytes() {
        return Err(format!("payload {:?} does not name the digest's object {}", text(&payload), id.pathname()));
    }
    Ok(LeafContent::Regular(RegularFile::External { id, size }))
}

/// Parses a whole dumpfile. The first line must be the root directory;
/// parents come before their entries; empty lines are skipped.
pub fn parse_dumpfile(input: &[u8], algorithm: HashAlgorithm) -> Result<Tree, Error> {
    let mut tree = Tree::new(algorithm);
    let mut seen_root = false;
    for (index, line) in input.split(|&b| b == b'\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        let at = |e: String| Error::malformed(format!("line {}: {e}", index + 1));
        let (path, entry) = parse_line(line, algorithm).map_err(at)?;
        let shown = text(&path);
        match (seen_root, path.as_slice()) {
            (false, b"/") if matches!(entry, NewEntry::Directory(_)) => seen_root = true,
            (false, _) => return Err(at(format!("{shown}: the first entry must be the root directory /"))),
            (true, b"/") => return Err(at("the root directory / appears twice".into())),
            (true, _) => {}
        }
        tree.insert(&path, entry).map_err(|e| Error::from(e).context(format!("line {}: {shown}", index + 1)))?;
    }
    if !seen_root {
        return Err(Error::malformed("the dumpfile has no entries (it must start with the root directory /)"));
    }
    Ok(tree)
}
