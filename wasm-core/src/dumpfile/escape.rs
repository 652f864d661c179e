//! The escaping of dumpfile fields (composefs-dump(5)): `\\`, `\n`, `\r`,
//! `\t` by name, every other byte outside `!`..`~` as `\xHH`, and `=` too
//! inside xattr fields where it separates name from value. In path,
//! payload and content fields an empty value is written `-` and a lone
//! `-` as `\x2d`.

fn escape_byte(out: &mut Vec<u8>, c: u8, escape_equals: bool) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match c {
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        b'=' if escape_equals => out.extend_from_slice(b"\\x3d"),
        b'!'..=b'~' => out.push(c),
        _ => out.extend_from_slice(&[b'\\', b'x', HEX[usize::from(c >> 4)], HEX[usize::from(c & 15)]]),
    }
}

/// A path, payload or content field.
pub fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    match bytes {
        b"" => out.push(b'-'),
        b"-" => out.extend_from_slice(b"\\x2d"),
        _ => bytes.iter().for_each(|&c| escape_byte(out, c, false)),
    }
}

/// An xattr name or value: no `-` sentinel, `=` escaped.
pub fn xattr_part(out: &mut Vec<u8>, bytes: &[u8]) {
    bytes.iter().for_each(|&c| escape_byte(out, c, true));
}

/// The xattr fields that end a dumpfile line (` name=value` each, in the
/// map's order), then the newline.
pub fn xattr_fields<'a>(out: &mut Vec<u8>, xattrs: impl IntoIterator<Item = (&'a Box<[u8]>, &'a Box<[u8]>)>) {
    for (name, value) in xattrs {
        out.push(b' ');
        xattr_part(out, name);
        out.push(b'=');
        xattr_part(out, value);
    }
    out.push(b'\n');
}

/// Undoes [`field`]/[`xattr_part`] escaping. Raw bytes must be printable
/// (ASCII graphic or UTF-8 text); control bytes mean a damaged file.
pub fn unescape(text: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        if c != b'\\' {
            if c < 0x21 || c == 0x7f {
                return Err(format!("raw byte 0x{c:02x} must be escaped"));
            }
            out.push(c);
            i += 1;
            continue;
        }
        let Some(&kind) = text.get(i + 1) else { return Err("unterminated escape at the end of a field".into()) };
        let byte = match kind {
            b'\\' => b'\\',
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'x' => {
                let digits = text.get(i + 2..i + 4).ok_or("unterminated \\x escape")?;
                let nibble = |d: u8| (d as char).to_digit(16);
                match (nibble(digits[0]), nibble(digits[1])) {
                    (Some(h), Some(l)) => {
                        i += 2;
                        (h * 16 + l) as u8
                    }
                    _ => return Err(format!("invalid escape \\x{}", String::from_utf8_lossy(digits))),
                }
            }
            other => return Err(format!("invalid escape \\{}", other as char)),
        };
        out.push(byte);
        i += 2;
    }
    Ok(out)
}
