//! One 512-byte header block: checksum, format (V7, USTAR/PAX, GNU, STAR)
//! and fields, decoded as Go's archive/tar (and so tar-split) decodes them:
//! strings end at the first NUL, numbers are octal (spaces and NULs around
//! them ignored) or, with the top bit of the first byte set, base-256 two's
//! complement — the GNU extension for sizes of 8 GiB and more.

use std::fmt;

pub const BLOCK: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    V7,
    /// POSIX ustar, also the base of PAX archives: has a 155-byte prefix.
    Ustar,
    Gnu,
    /// Schily's star: ustar magic, a 131-byte prefix and a "tar\0" trailer.
    Star,
}

/// The fields of one header block, before PAX or GNU records apply.
#[derive(Debug)]
pub(crate) struct Header {
    pub typeflag: u8,
    pub name: Vec<u8>,
    pub link_name: Vec<u8>,
    pub size: i64,
    pub mode: i64,
    pub uid: i64,
    pub gid: i64,
    pub mtime: i64,
    pub uname: Vec<u8>,
    pub gname: Vec<u8>,
    pub dev_major: i64,
    pub dev_minor: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum NumericError {
    Syntax,
    Overflow,
}

impl fmt::Display for NumericError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Syntax => "is not an octal or base-256 number",
            Self::Overflow => "overflows 63 bits",
        })
    }
}

/// The bytes up to the first NUL.
pub(crate) fn c_string(field: &[u8]) -> &[u8] {
    field.iter().position(|&b| b == 0).map_or(field, |end| &field[..end])
}

/// A numeric field: base-256 when the first byte has its top bit set (its
/// second-highest bit is then the sign), else octal.
pub fn parse_numeric(field: &[u8]) -> Result<i64, NumericError> {
    match field.first() {
        Some(&first) if first & 0x80 != 0 => {
            let invert = if first & 0x40 != 0 { 0xff } else { 0x00 };
            let mut x: u64 = 0;
            for (i, &byte) in field.iter().enumerate() {
                let mut c = byte ^ invert;
                if i == 0 {
                    c &= 0x7f;
                }
                if x >> 56 != 0 {
                    return Err(NumericError::Overflow);
                }
                x = (x << 8) | u64::from(c);
            }
            if x >> 63 != 0 {
                return Err(NumericError::Overflow);
            }
            // -a-1 == !a: a negative number was stored inverted.
            Ok(if invert == 0xff { !(x as i64) } else { x as i64 })
        }
        _ => parse_octal(field),
    }
}

pub(crate) fn parse_octal(field: &[u8]) -> Result<i64, NumericError> {
    let trimmed = trim(field);
    if trimmed.is_empty() {
        return Ok(0);
    }
    let digits = c_string(trimmed);
    if digits.is_empty() {
        return Err(NumericError::Syntax);
    }
    let mut x: u64 = 0;
    for &d in digits {
        if !(b'0'..=b'7').contains(&d) {
            return Err(NumericError::Syntax);
        }
        x = x.checked_mul(8).and_then(|x| x.checked_add(u64::from(d - b'0'))).ok_or(NumericError::Overflow)?;
    }
    i64::try_from(x).map_err(|_| NumericError::Overflow)
}

fn trim(field: &[u8]) -> &[u8] {
    let pad = |b: &u8| *b == b' ' || *b == 0;
    let start = field.iter().position(|b| !pad(b)).unwrap_or(field.len());
    let end = field.iter().rposition(|b| !pad(b)).map_or(start, |i| i + 1);
    &field[start..end]
}

pub(crate) fn is_zero(block: &[u8; BLOCK]) -> bool {
    block.iter().all(|&b| b == 0)
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeaderError {
    Checksum { stored: Option<i64>, unsigned: i64 },
    Field { field: &'static str, problem: NumericError },
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Checksum { stored: Some(stored), unsigned } => {
                write!(f, "header checksum {stored:o} does not match the header's bytes (sum {unsigned:o}): not a tar header, or damaged")
            }
            Self::Checksum { stored: None, .. } => write!(f, "header checksum field is not a number: not a tar header"),
            Self::Field { field, problem } => write!(f, "header field {field} {problem}"),
        }
    }
}

/// Unsigned and signed sums of the block with the checksum field as spaces
/// (old tars summed signed bytes; both are accepted, as Go does).
fn checksums(block: &[u8; BLOCK]) -> (i64, i64) {
    let (mut unsigned, mut signed) = (0i64, 0i64);
    for (i, &b) in block.iter().enumerate() {
        let b = if (148..156).contains(&i) { b' ' } else { b };
        unsigned += i64::from(b);
        signed += i64::from(b as i8);
    }
    (unsigned, signed)
}

fn format(block: &[u8; BLOCK]) -> Format {
    let magic = &block[257..263];
    let version = &block[263..265];
    let trailer = &block[508..512];
    match () {
        _ if magic == b"ustar\0" && trailer == b"tar\0" => Format::Star,
        _ if magic == b"ustar\0" => Format::Ustar,
        _ if magic == b"ustar " && version == b" \0" => Format::Gnu,
        _ => Format::V7,
    }
}

fn numeric(block: &[u8; BLOCK], field: &'static str, range: std::ops::Range<usize>) -> Result<i64, HeaderError> {
    parse_numeric(&block[range]).map_err(|problem| HeaderError::Field { field, problem })
}

pub(crate) fn parse_header(block: &[u8; BLOCK]) -> Result<Header, HeaderError> {
    let (unsigned, signed) = checksums(block);
    match parse_octal(&block[148..156]) {
        Ok(stored) if stored == unsigned || stored == signed => {}
        Ok(stored) => return Err(HeaderError::Checksum { stored: Some(stored), unsigned }),
        Err(_) => return Err(HeaderError::Checksum { stored: None, unsigned }),
    }
    let format = format(block);
    let mut header = Header {
        typeflag: block[156],
        name: c_string(&block[0..100]).to_vec(),
        link_name: c_string(&block[157..257]).to_vec(),
        size: numeric(block, "size", 124..136)?,
        mode: numeric(block, "mode", 100..108)?,
        uid: numeric(block, "uid", 108..116)?,
        gid: numeric(block, "gid", 116..124)?,
        mtime: numeric(block, "mtime", 136..148)?,
        uname: Vec::new(),
        gname: Vec::new(),
        dev_major: 0,
        dev_minor: 0,
    };
    if format == Format::V7 {
        return Ok(header);
    }
    header.uname = c_string(&block[265..297]).to_vec();
    header.gname = c_string(&block[297..329]).to_vec();
    header.dev_major = numeric(block, "devmajor", 329..337)?;
    header.dev_minor = numeric(block, "devminor", 337..345)?;
    let prefix = match format {
        Format::Ustar => c_string(&block[345..500]),
        Format::Star => c_string(&block[345..476]),
        // GNU keeps access and change times where ustar has its prefix.
        Format::Gnu | Format::V7 => &[],
    };
    if !prefix.is_empty() {
        let mut name = prefix.to_vec();
        name.push(b'/');
        name.extend_from_slice(&header.name);
        header.name = name;
    }
    Ok(header)
}
