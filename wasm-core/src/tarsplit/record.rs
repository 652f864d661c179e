//! One NDJSON line → one validated [`Record`]. The line is tar-split's
//! `storage.Entry` as Go's encoding/json writes it:
//! `{"type":1,"name":"./etc/hosts","size":N,"payload":"<base64 crc>","position":N}`
//! (`name_raw` holds base64 bytes instead of `name` when the name is not
//! UTF-8; `size` is left out when 0; `payload` is null for empty files) or
//! `{"type":2,"payload":"<base64 bytes>","position":N}`. Unknown keys are
//! ignored, as Go's decoder does.

use super::name::clean_name;
use super::TarSplitError;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Deserialize;
use std::borrow::Cow;

/// Largest file size accepted: 2^53 - 1 bytes, the largest count a
/// JavaScript host can hold exactly (8 PiB, beyond any real layer).
pub const MAX_SIZE: u64 = (1 << 53) - 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// Raw tar bytes to emit as they are.
    Segment { position: u64, payload: Vec<u8> },
    /// A tar member; when `size` > 0 its content is `diff/<path>`.
    File {
        position: u64,
        /// The name as recorded (bytes; not necessarily UTF-8).
        name: Vec<u8>,
        /// `name` cleaned, relative to `diff/` (`.` for the root).
        path: Vec<u8>,
        size: u64,
        /// CRC-64/GO-ISO of the content; present whenever `size` > 0.
        crc64: Option<u64>,
    },
}

impl Record {
    pub fn position(&self) -> u64 {
        match self {
            Self::Segment { position, .. } | Self::File { position, .. } => *position,
        }
    }
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type")]
    kind: Option<i64>,
    #[serde(borrow, default)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    name_raw: Option<Cow<'a, str>>,
    #[serde(default)]
    size: Option<i64>,
    #[serde(borrow, default)]
    payload: Option<Cow<'a, str>>,
    #[serde(default)]
    position: Option<i64>,
}

fn base64(entry: u64, field: &str, text: &str) -> Result<Vec<u8>, TarSplitError> {
    STANDARD
        .decode(text)
        .map_err(|e| TarSplitError::new(entry, format!("{field} is not valid base64 ({e})")))
}

/// Parses the record expected at position `entry`.
pub(crate) fn parse_line(entry: u64, line: &[u8]) -> Result<Record, TarSplitError> {
    let raw: Line =
        serde_json::from_slice(line).map_err(|e| TarSplitError::new(entry, format!("not a tar-split record: {e}")))?;
    match raw.position {
        Some(p) if p == entry as i64 => {}
        Some(p) => {
            return Err(TarSplitError::new(entry, format!("position {p} out of sequence (expected {entry})")));
        }
        None => return Err(TarSplitError::new(entry, "no position")),
    }
    let payload = match raw.payload.as_deref() {
        Some(text) => Some(base64(entry, "payload", text)?),
        None => None,
    };
    match raw.kind {
        Some(2) => Ok(Record::Segment { position: entry, payload: payload.unwrap_or_default() }),
        Some(1) => {
            let name = match (raw.name_raw.as_deref(), raw.name.as_deref()) {
                // Go prefers name_raw when it is non-empty.
                (Some(text), _) if !text.is_empty() => base64(entry, "name_raw", text)?,
                (_, Some(name)) => name.as_bytes().to_vec(),
                _ => Vec::new(),
            };
            let shown = String::from_utf8_lossy(&name).into_owned();
            let path = clean_name(&name).map_err(|e| TarSplitError::new(entry, format!("name {shown:?} {e}")))?;
            let size = match raw.size.unwrap_or(0) {
                s if s < 0 => return Err(TarSplitError::new(entry, format!("negative size {s} for {shown}"))),
                s if s as u64 > MAX_SIZE => {
                    return Err(TarSplitError::limit(entry, format!("size {s} for {shown} exceeds {MAX_SIZE} bytes")));
                }
                s => s as u64,
            };
            let crc64 = match payload {
                Some(bytes) if bytes.len() == 8 => Some(u64::from_be_bytes(bytes.try_into().unwrap_or_default())),
                Some(bytes) if size > 0 => {
                    let n = bytes.len();
                    return Err(TarSplitError::new(entry, format!("CRC64 of {n} bytes for {shown} (expected 8)")));
                }
                _ if size > 0 => return Err(TarSplitError::new(entry, format!("no CRC64 for {shown}"))),
                _ => None,
            };
            Ok(Record::File { position: entry, name, path, size, crc64 })
        }
        Some(t) => Err(TarSplitError::new(entry, format!("unknown record type {t}"))),
        None => Err(TarSplitError::new(entry, "no record type")),
    }
}
