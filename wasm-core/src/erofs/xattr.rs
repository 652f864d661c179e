//! Xattrs as composefs images store them: a prefix index plus the rest of
//! the name, the overlayfs xattrs that point regular files at objects, and
//! the escaping that keeps a file's own `trusted.overlay.*` xattrs from
//! being read by overlayfs.

use super::format::{FormatVersion, XATTR_ENTRY_HEADER_SIZE, XATTR_FILTER_SEED, XATTR_PREFIXES};
use xxhash_rust::xxh32::xxh32;
use crate::fsverity::HashAlgorithm;
use crate::tree::ObjectId;

pub const OVERLAY_PREFIX: &[u8] = b"trusted.overlay.";
pub const ESCAPED_PREFIX: &[u8] = b"trusted.overlay.overlay.";
pub const METACOPY: &[u8] = b"trusted.overlay.metacopy";
pub const REDIRECT: &[u8] = b"trusted.overlay.redirect";
/// V0/V1: what a 0:0 character device becomes (a regular file with these),
/// as C mkcomposefs escapes whiteouts, and what its directory gets.
pub const WHITEOUT: &[u8] = b"trusted.overlay.overlay.whiteout";
pub const USER_WHITEOUT: &[u8] = b"user.overlay.whiteout";
pub const WHITEOUTS: &[u8] = b"trusted.overlay.overlay.whiteouts";
pub const USER_WHITEOUTS: &[u8] = b"user.overlay.whiteouts";
pub const ESCAPED_OPAQUE: &[u8] = b"trusted.overlay.overlay.opaque";
pub const USER_OPAQUE: &[u8] = b"user.overlay.opaque";
/// V0/V1: the root directory is opaque (value "y").
pub const OPAQUE: &[u8] = b"trusted.overlay.opaque";
/// The one root xattr the V0/V1 whiteout stubs inherit.
pub const SELINUX: &[u8] = b"security.selinux";
/// `e_name_index` of `lustre.`, which C mkcomposefs 1.0.8's table lacks.
const LUSTRE_INDEX: usize = 5;

/// One xattr in on-disk form; ordered as composefs-rs orders its shared
/// xattr table (prefix index, then suffix, then value).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DiskXattr {
    pub prefix: u8,
    pub suffix: Box<[u8]>,
    pub value: Box<[u8]>,
}

impl DiskXattr {
    /// Splits `name` at the first prefix that matches, trying the table
    /// from its end as composefs-rs does; index 0 (no prefix) always
    /// matches. V0/V1 skip `lustre.`, as C mkcomposefs 1.0.8 does.
    pub fn new(name: &[u8], value: &[u8], version: FormatVersion) -> Self {
        let (prefix, suffix) = (0..XATTR_PREFIXES.len())
            .rev()
            .filter(|&i| !(version.compact_layout() && i == LUSTRE_INDEX))
            .find_map(|i| name.strip_prefix(XATTR_PREFIXES[i]).map(|s| (i as u8, s)))
            .unwrap_or((0, name));
        Self { prefix, suffix: suffix.into(), value: value.into() }
    }

    /// C mkcomposefs's order (V0/V1): by full name, then by value length,
    /// then by value bytes.
    pub fn cmp_full_key(&self, other: &Self) -> std::cmp::Ordering {
        fn key(x: &DiskXattr) -> impl Iterator<Item = u8> + '_ {
            XATTR_PREFIXES[usize::from(x.prefix)].iter().chain(x.suffix.iter()).copied()
        }
        key(self)
            .cmp(key(other))
            .then_with(|| self.value.len().cmp(&other.value.len()))
            .then_with(|| self.value.cmp(&other.value))
    }

    /// The bit this xattr sets in the inode's name filter.
    pub fn filter_bit(&self) -> u32 {
        1 << (xxh32(&self.suffix, XATTR_FILTER_SEED.wrapping_add(u32::from(self.prefix))) % 32)
    }

    /// Entry header, name, value, padded to 4 bytes.
    pub fn encoded_len(&self) -> usize {
        (XATTR_ENTRY_HEADER_SIZE + self.suffix.len() + self.value.len()).next_multiple_of(4)
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(self.suffix.len() as u8);
        out.push(self.prefix);
        out.extend_from_slice(&(self.value.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.suffix);
        out.extend_from_slice(&self.value);
        out.resize(out.len().next_multiple_of(4), 0);
    }
}

/// The full name of an on-disk xattr, or None for an unknown prefix index.
pub fn full_name(prefix: u8, suffix: &[u8]) -> Option<Vec<u8>> {
    let p = XATTR_PREFIXES.get(usize::from(prefix))?;
    Some([*p, suffix].concat())
}

/// A file's own `trusted.overlay.X` is stored as `trusted.overlay.overlay.X`,
/// which overlayfs shows to users as `trusted.overlay.X` again.
pub fn escape_name(name: &[u8]) -> Vec<u8> {
    match name.strip_prefix(OVERLAY_PREFIX) {
        Some(rest) => [ESCAPED_PREFIX, rest].concat(),
        None => name.to_vec(),
    }
}

/// The name a file had before escaping, or None for the xattrs composefs
/// itself owns: every other `trusted.overlay.*`, and the whiteout and
/// opaque markers of V0/V1 images (also `user.overlay.{whiteout,whiteouts,
/// opaque}` and an escaped `trusted.overlay.opaque`, whatever wrote them),
/// as composefs-rs 0.9 reads them.
pub fn unescape_name(name: &[u8]) -> Option<Vec<u8>> {
    if [WHITEOUT, WHITEOUTS, ESCAPED_OPAQUE, USER_WHITEOUT, USER_WHITEOUTS, USER_OPAQUE].contains(&name) {
        return None;
    }
    if let Some(rest) = name.strip_prefix(ESCAPED_PREFIX) {
        return Some([OVERLAY_PREFIX, rest].concat());
    }
    if name.starts_with(OVERLAY_PREFIX) {
        return None;
    }
    Some(name.to_vec())
}

/// `struct ovl_metacopy`: version 0, its length, flags 0, the fs-verity
/// algorithm, the digest. Overlayfs checks the object's digest against it.
pub fn metacopy_value(algorithm: HashAlgorithm, id: &ObjectId) -> Vec<u8> {
    let mut v = vec![0, (4 + id.as_bytes().len()) as u8, 0, algorithm.kernel_id()];
    v.extend_from_slice(id.as_bytes());
    v
}

/// The digest in a metacopy value, with its algorithm.
pub fn parse_metacopy(value: &[u8]) -> Result<(HashAlgorithm, ObjectId), String> {
    let [version, len, flags, algo, digest @ ..] = value else {
        return Err(format!("trusted.overlay.metacopy of {} bytes is too short", value.len()));
    };
    let algorithm = HashAlgorithm::from_kernel_id(*algo)
        .ok_or_else(|| format!("trusted.overlay.metacopy names unknown digest algorithm {algo}"))?;
    if *version != 0 || *flags != 0 || usize::from(*len) != value.len() || digest.len() != algorithm.digest_size() {
        return Err(format!(
            "malformed trusted.overlay.metacopy (version {version}, length {len}, flags {flags}, {} digest bytes)",
            digest.len()
        ));
    }
    Ok((algorithm, ObjectId::new(digest)))
}

/// `trusted.overlay.redirect`: the object's path in the objects directory
/// (a data-only lower layer when mounted).
pub fn redirect_value(id: &ObjectId) -> Vec<u8> {
    format!("/{}", id.pathname()).into_bytes()
}
