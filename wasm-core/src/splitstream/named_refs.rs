//! Named stream refs: zstd-compressed `"<index>:<name>\0"` records, sorted
//! by name, each index pointing into the stream_refs array. OCI configs use
//! them to name their layers by diff_id; manifests name their config.

use super::decoder::zstd_decoder;
use super::error::{fail, Error};
use std::collections::BTreeMap;
use std::io::Write;
use zstd::stream::raw::{InBuffer, Operation, OutBuffer};

/// Decompressed named refs larger than this are refused: a real config
/// names a few hundred layers, and a zstd bomb must not fill memory.
pub const NAMED_REFS_MAX_SIZE: usize = 16 << 20;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedRef {
    pub name: String,
    /// Index into the stream_refs array.
    pub index: u32,
}

/// The compressed section for `refs` (name → stream ref index), in name
/// order as a BTreeMap gives it, which is the order composefs-rs writes.
pub fn encode_named_refs(refs: &BTreeMap<String, u32>) -> Result<Vec<u8>, Error> {
    let mut records = Vec::new();
    for (name, index) in refs {
        records.extend_from_slice(format!("{index}:{name}\0").as_bytes());
    }
    // Level 0 is zstd's default (3), what composefs-rs asks for. Nothing is
    // written when there are no records: an encoder that saw no input emits
    // a frame header with a content size of 0, exactly as composefs-rs's does.
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 0).map_err(zstd_error)?;
    encoder.write_all(&records).map_err(zstd_error)?;
    encoder.finish().map_err(zstd_error)
}

fn zstd_error(err: std::io::Error) -> Error {
    Error::malformed(format!("zstd compression failed: {err}"))
}

/// Decompresses and checks the named refs section of a splitstream with
/// `stream_ref_count` stream refs. Names come back in file order.
pub fn decode_named_refs(compressed: &[u8], stream_ref_count: u64) -> Result<Vec<NamedRef>, Error> {
    let records = decompress_bounded(compressed, NAMED_REFS_MAX_SIZE)?;
    let mut refs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut rest = &records[..];
    while !rest.is_empty() {
        let Some(end) = rest.iter().position(|&b| b == 0) else {
            fail!("splitstream named refs: {} bytes of junk after the last record (no NUL terminator)", rest.len());
        };
        let record = &rest[..end];
        rest = &rest[end + 1..];
        let n = refs.len();
        let Ok(record) = std::str::from_utf8(record) else {
            fail!("splitstream named ref {n} is not valid UTF-8");
        };
        let Some((index, name)) = record.split_once(':') else {
            fail!("splitstream named ref {n} ({record:?}) has no ':' between index and name");
        };
        let index = match index.parse::<u64>() {
            Ok(i) if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) => i,
            _ => fail!("splitstream named ref {name:?} has index {index:?}, not a decimal number"),
        };
        if index >= stream_ref_count {
            fail!("splitstream named ref {name:?} points at stream ref {index}, but there are only {stream_ref_count}");
        }
        if !seen.insert(name) {
            fail!("splitstream named ref {name:?} appears twice");
        }
        // index < stream_ref_count, which the caller holds in memory: it fits.
        let index = u32::try_from(index).map_err(|_| Error::limit("splitstream has too many stream refs"))?;
        refs.push(NamedRef { name: name.to_owned(), index });
    }
    Ok(refs)
}

/// Decompresses zstd frames (any number, as composefs-rs's reader accepts)
/// into at most `limit` bytes. An empty section holds no records.
fn decompress_bounded(compressed: &[u8], limit: usize) -> Result<Vec<u8>, Error> {
    let mut decoder = zstd_decoder()?;
    let mut out = Vec::new();
    let mut scratch = vec![0u8; 64 * 1024];
    let mut input = InBuffer::around(compressed);
    let mut hint = 0;
    loop {
        let at = input.pos();
        // Done when all input is in and zstd has nothing left to flush
        // (the last call did not fill the scratch buffer).
        if at == compressed.len() && hint == 0 {
            return Ok(out);
        }
        let mut output = OutBuffer::around(&mut scratch[..]);
        hint = decoder
            .run(&mut input, &mut output)
            .map_err(|e| Error::malformed(format!("splitstream named refs: corrupt or unsupported zstd data near byte {at}: {e}")))?;
        let produced = output.pos();
        if out.len() + produced > limit {
            fail!(limit: "splitstream named refs decompress to more than {limit} bytes");
        }
        out.extend_from_slice(&scratch[..produced]);
        if produced == scratch.len() {
            // Output may be pending inside zstd: call again before judging.
            hint = hint.max(1);
        } else if produced == 0 && input.pos() == at {
            fail!("splitstream named refs: zstd data is truncated");
        }
    }
}
