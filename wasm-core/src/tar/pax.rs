//! PAX extended header records: `"<length> <key>=<value>\n"`, repeated.
//! Validation follows Go's archive/tar: length at least 5 and inside the
//! data, a final newline, a non-empty key without '=' or NUL, no NUL in the
//! values of path, linkpath, uname and gname. A later record with the same
//! key replaces an earlier one.

use std::collections::BTreeMap;

pub(crate) type Records = BTreeMap<Vec<u8>, Vec<u8>>;

/// The `SCHILY.xattr.<name>` records carry extended attributes.
pub(crate) const XATTR_PREFIX: &[u8] = b"SCHILY.xattr.";

pub(crate) fn parse_records(mut data: &[u8]) -> Result<Records, String> {
    let mut records = Records::new();
    let mut index = 0usize;
    while !data.is_empty() {
        let bad = |why: &str| format!("PAX record {index} {why}");
        let space = data.iter().position(|&b| b == b' ').ok_or_else(|| bad("has no length"))?;
        let digits = &data[..space];
        if digits.is_empty() || digits.len() > 12 || !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad("has no valid length"));
        }
        // At most 12 digits: a u64 holds it; the comparison with the data
        // is made before the length becomes an index (usize is 32 bits on
        // wasm32, where 2^32 + 20 would otherwise read as 20).
        let length = digits.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        let available = data.len() as u64;
        if length < 5 || length > available || space as u64 + 1 >= length {
            return Err(format!("PAX record {index} has length {length}, outside its {available} bytes of data"));
        }
        let length = usize::try_from(length).map_err(|_| bad("is longer than this platform can index"))?;
        let (record, rest) = data.split_at(length);
        let body = &record[space + 1..length - 1];
        if record[length - 1] != b'\n' {
            return Err(bad("does not end with a newline"));
        }
        let eq = body.iter().position(|&b| b == b'=').ok_or_else(|| bad("has no '='"))?;
        let (key, value) = (&body[..eq], &body[eq + 1..]);
        if key.is_empty() || key.contains(&0) {
            return Err(bad("has an empty key or a NUL in its key"));
        }
        let string_field = matches!(key, b"path" | b"linkpath" | b"uname" | b"gname");
        if string_field && value.contains(&0) {
            return Err(bad("has a NUL in its value"));
        }
        records.insert(key.to_vec(), value.to_vec());
        data = rest;
        index += 1;
    }
    Ok(records)
}

/// A decimal integer as Go's strconv.ParseInt(s, 10, 64) reads it.
pub(crate) fn parse_decimal(value: &[u8]) -> Option<i64> {
    std::str::from_utf8(value).ok()?.parse::<i64>().ok()
}

/// PAX time: seconds, optionally '.' and a fraction (nanoseconds are kept;
/// further digits are cut off). Negative times count backwards.
pub(crate) fn parse_time(value: &[u8]) -> Option<(i64, u32)> {
    let (secs, frac) = match value.iter().position(|&b| b == b'.') {
        Some(dot) => (&value[..dot], &value[dot + 1..]),
        None => (value, &b""[..]),
    };
    let secs = parse_decimal(secs)?;
    if !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut nanos: u32 = 0;
    for i in 0..9 {
        nanos = nanos * 10 + frac.get(i).map_or(0, |d| u32::from(d - b'0'));
    }
    if nanos > 0 && value.first() == Some(&b'-') {
        // Go: time.Unix(secs, -nanos), normalised to a positive fraction.
        return Some((secs - 1, 1_000_000_000 - nanos));
    }
    Some((secs, nanos))
}
