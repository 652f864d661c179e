//! The fixed parts of a splitstream file: the 32-byte header, the 80-byte
//! info section and the byte ranges they point at. Parsing checks every
//! range against the file size before anyone reads through it.

use super::error::{fail, Error};
use crate::fsverity::HashAlgorithm;
use std::fmt;

pub const MAGIC: &[u8; 11] = b"SplitStream";
pub const HEADER_SIZE: usize = 32;
pub const INFO_SIZE: usize = 80;
/// The info section may grow in later versions (readers ignore the rest),
/// but the host reads it into memory, so an absurd size is refused.
pub const INFO_MAX_SIZE: u64 = 64 * 1024;
/// composefs-rs writes and accepts only 4 KiB fs-verity blocks.
pub const LG_BLOCK_SIZE: u8 = 12;
const VERSION: u8 = 0;

/// Where the header fields sit. `Old` is what composefs-rs wrote before it
/// marked the header `repr(C)`: the compiler had moved the info range to the
/// front (range at 0, flags at 16, magic at 18, version, algorithm and block
/// size at 29..32).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Current,
    Old,
}

/// A `[start, end)` byte range of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FileRange {
    pub start: u64,
    pub end: u64,
}

impl FileRange {
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    fn read(bytes: &[u8]) -> Self {
        Self { start: le64(&bytes[..8]), end: le64(&bytes[8..16]) }
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.start.to_le_bytes());
        out.extend_from_slice(&self.end.to_le_bytes());
    }
}

impl fmt::Display for FileRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub layout: Layout,
    pub algorithm: HashAlgorithm,
    pub lg_block_size: u8,
    /// Always 0 so far; composefs-rs ignores it, and so does this reader.
    pub flags: u16,
    pub info: FileRange,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    pub stream_refs: FileRange,
    pub object_refs: FileRange,
    pub stream: FileRange,
    pub named_refs: FileRange,
    pub content_type: u64,
    /// Size of the original: inline bytes plus the sizes of external objects.
    pub stream_size: u64,
}

impl Info {
    pub fn stream_ref_count(&self, algorithm: HashAlgorithm) -> u64 {
        self.stream_refs.len() / algorithm.digest_size() as u64
    }

    pub fn object_ref_count(&self, algorithm: HashAlgorithm) -> u64 {
        self.object_refs.len() / algorithm.digest_size() as u64
    }
}

fn le64(bytes: &[u8]) -> u64 {
    let mut b = [0; 8];
    b.copy_from_slice(bytes);
    u64::from_le_bytes(b)
}

/// `"ocilayer"` for the OCI tags (eight printable bytes), else hex.
pub(crate) fn describe_content_type(ct: u64) -> String {
    let bytes = ct.to_le_bytes();
    if bytes.iter().all(|b| b.is_ascii_graphic()) {
        format!("{ct:#x} (\"{}\")", String::from_utf8_lossy(&bytes))
    } else {
        format!("{ct:#x}")
    }
}

/// Checks the 32-byte header at the start of a file of `file_size` bytes.
/// `head` may be longer than the header; only its first 32 bytes are used.
pub fn parse_header(head: &[u8], file_size: u64, expected: Option<HashAlgorithm>) -> Result<Header, Error> {
    if file_size < HEADER_SIZE as u64 || head.len() < HEADER_SIZE {
        let have = file_size.min(head.len() as u64);
        fail!("splitstream is {have} bytes, too short for the {HEADER_SIZE}-byte header");
    }
    let head = &head[..HEADER_SIZE];
    let (layout, version, flags, algorithm, lg_block_size, info) = if &head[..11] == MAGIC {
        (Layout::Current, head[11], [head[12], head[13]], head[14], head[15], &head[16..32])
    } else if &head[18..29] == MAGIC {
        (Layout::Old, head[29], [head[16], head[17]], head[30], head[31], &head[0..16])
    } else {
        fail!("not a splitstream (no \"SplitStream\" magic at offset 0 or 18)");
    };
    if version != VERSION {
        fail!(unsupported: "splitstream version {version} is not supported (only {VERSION})");
    }
    let Some(algorithm) = HashAlgorithm::from_kernel_id(algorithm) else {
        fail!(unsupported: "splitstream names unknown fs-verity algorithm {algorithm} (1 = sha256, 2 = sha512)");
    };
    if let Some(want) = expected {
        if want != algorithm {
            fail!("splitstream uses {} object IDs, expected {}", algorithm.name(), want.name());
        }
    }
    if lg_block_size != LG_BLOCK_SIZE {
        fail!(unsupported: "splitstream fs-verity block size 2^{lg_block_size} is not supported (only 2^{LG_BLOCK_SIZE})");
    }
    let info = FileRange::read(info);
    check_range("info", info, file_size)?;
    if info.len() < INFO_SIZE as u64 {
        fail!("splitstream info range {info} is {} bytes, shorter than the {INFO_SIZE}-byte info section", info.len());
    }
    if info.len() > INFO_MAX_SIZE {
        fail!(limit: "splitstream info range {info} is {} bytes, more than the {INFO_MAX_SIZE} accepted", info.len());
    }
    if info.start < HEADER_SIZE as u64 {
        fail!("splitstream info range {info} overlaps the {HEADER_SIZE}-byte header");
    }
    Ok(Header { layout, algorithm, lg_block_size, flags: u16::from_le_bytes(flags), info })
}

fn check_range(what: &str, range: FileRange, file_size: u64) -> Result<(), Error> {
    if range.start > range.end {
        fail!("splitstream {what} range {range} is inverted (ends before it starts)");
    }
    if range.end > file_size {
        fail!("splitstream {what} range {range} runs past the end of the {file_size}-byte file");
    }
    Ok(())
}

/// Checks the info section (the bytes of `header.info`) and every range in
/// it: inside the file, not inverted, not overlapping each other, the
/// header or the info section, and ref arrays a whole number of digests.
pub fn parse_info(
    header: &Header,
    bytes: &[u8],
    file_size: u64,
    expected_content_type: Option<u64>,
) -> Result<Info, Error> {
    if bytes.len() as u64 != header.info.len() {
        fail!("splitstream info section is {} bytes, but its range {} says {}", bytes.len(), header.info, header.info.len());
    }
    if bytes.len() < INFO_SIZE {
        fail!("splitstream info section is {} bytes, shorter than {INFO_SIZE}", bytes.len());
    }
    let info = Info {
        stream_refs: FileRange::read(&bytes[0..16]),
        object_refs: FileRange::read(&bytes[16..32]),
        stream: FileRange::read(&bytes[32..48]),
        named_refs: FileRange::read(&bytes[48..64]),
        content_type: le64(&bytes[64..72]),
        stream_size: le64(&bytes[72..80]),
    };
    let sections = [
        ("header", FileRange { start: 0, end: HEADER_SIZE as u64 }),
        ("info", header.info),
        ("stream_refs", info.stream_refs),
        ("object_refs", info.object_refs),
        ("named_refs", info.named_refs),
        ("stream", info.stream),
    ];
    for &(name, range) in &sections[2..] {
        check_range(name, range, file_size)?;
    }
    let digest_size = header.algorithm.digest_size() as u64;
    for (name, range) in [("stream_refs", info.stream_refs), ("object_refs", info.object_refs)] {
        if range.len() % digest_size != 0 {
            fail!(
                "splitstream {name} range {range} ({} bytes) is not a multiple of {digest_size} bytes ({} digests)",
                range.len(),
                header.algorithm.name()
            );
        }
    }
    for (i, &(a, ra)) in sections.iter().enumerate() {
        for &(b, rb) in &sections[i + 1..] {
            // Empty ranges hold nothing, so they cannot collide.
            if !ra.is_empty() && !rb.is_empty() && ra.start < rb.end && rb.start < ra.end {
                fail!("splitstream {b} range {rb} overlaps the {a} range {ra}");
            }
        }
    }
    if let Some(want) = expected_content_type {
        if want != info.content_type {
            fail!(
                "splitstream content type is {}, expected {}",
                describe_content_type(info.content_type),
                describe_content_type(want)
            );
        }
    }
    Ok(info)
}

/// The bytes before the stream: header, info, both ref arrays, named refs.
/// The stream follows directly and is `stream_len` bytes long.
pub(crate) fn encode_prefix(
    algorithm: HashAlgorithm,
    content_type: u64,
    stream_size: u64,
    stream_refs: &[u8],
    object_refs: &[u8],
    named_refs: &[u8],
    stream_len: u64,
) -> Vec<u8> {
    let mut at = (HEADER_SIZE + INFO_SIZE) as u64;
    let mut next = |len: usize| {
        let range = FileRange { start: at, end: at + len as u64 };
        at = range.end;
        range
    };
    let stream_refs_range = next(stream_refs.len());
    let object_refs_range = next(object_refs.len());
    let named_refs_range = next(named_refs.len());
    let stream_range = FileRange { start: named_refs_range.end, end: named_refs_range.end + stream_len };

    let mut out = Vec::with_capacity(stream_range.start as usize);
    out.extend_from_slice(MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&0u16.to_le_bytes());
    out.push(algorithm.kernel_id());
    out.push(LG_BLOCK_SIZE);
    FileRange { start: HEADER_SIZE as u64, end: (HEADER_SIZE + INFO_SIZE) as u64 }.write(&mut out);
    for range in [stream_refs_range, object_refs_range, stream_range, named_refs_range] {
        range.write(&mut out);
    }
    out.extend_from_slice(&content_type.to_le_bytes());
    out.extend_from_slice(&stream_size.to_le_bytes());
    out.extend_from_slice(stream_refs);
    out.extend_from_slice(object_refs);
    out.extend_from_slice(named_refs);
    out
}
