//! Names of type-1 records, cleaned the way Go's `filepath.Clean` does
//! (tar-split and containers-storage both clean names before use), then
//! refused if they would leave the layer's `diff/` directory.

use std::fmt;

#[derive(Debug, PartialEq, Eq)]
pub enum NameError {
    Nul,
    Absolute,
    Escapes,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Nul => "contains a NUL byte",
            Self::Absolute => "is absolute",
            Self::Escapes => "escapes the layer (\"..\" after cleaning)",
        })
    }
}

/// The relative path under `diff/` that `name` denotes: no empty, `.` or
/// `..` components, no leading or trailing slash; `.` for the layer root.
pub fn clean_name(name: &[u8]) -> Result<Vec<u8>, NameError> {
    if name.contains(&0) {
        return Err(NameError::Nul);
    }
    let rooted = name.first() == Some(&b'/');
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in name.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                // Go keeps a leading ".." of a relative path and drops one
                // at the root of an absolute path.
                if parts.last().is_some_and(|p| *p != b"..") {
                    parts.pop();
                } else if !rooted {
                    parts.push(part);
                }
            }
            _ => parts.push(part),
        }
    }
    if rooted {
        return Err(NameError::Absolute);
    }
    if parts.first() == Some(&&b".."[..]) {
        return Err(NameError::Escapes);
    }
    if parts.is_empty() {
        return Ok(b".".to_vec());
    }
    Ok(parts.join(&b'/'))
}
