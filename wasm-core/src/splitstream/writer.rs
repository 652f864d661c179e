//! Writing a splitstream the way composefs-rs does, so the same calls give
//! the same bytes and therefore the same object ID.
//!
//! The stream is compressed as chunks arrive and the host drains the output
//! ([`Writer::take_output`]) to a file, so memory does not grow with the
//! data. The part of the file before the stream (header, info, ref arrays,
//! named refs) depends on everything written, so it comes last
//! ([`Writer::finish`]); the host writes it, then the stream after it.
//!
//! composefs-rs coalesces adjacent inline writes into one chunk. A chunk's
//! length precedes its bytes, so coalescing needs the whole run before the
//! first byte is compressed: the host collects a run (spilling long ones to
//! disk), then calls [`Writer::begin_inline`] with its length and feeds it
//! through [`Writer::inline_data`] in pieces of any size. zstd's streaming
//! output depends only on the bytes, not on how they were split into calls
//! (the golden vectors check this against composefs-rs's single write).

use super::error::{fail, Error};
use super::format::encode_prefix;
use super::named_refs::encode_named_refs;
use crate::fsverity::HashAlgorithm;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use zstd::stream::write::Encoder;

/// Digests in first-use order, each once (composefs-rs's `UniqueVec`).
struct RefTable {
    bytes: Vec<u8>,
    index: HashMap<Vec<u8>, u32>,
}

impl RefTable {
    fn new() -> Self {
        Self { bytes: Vec::new(), index: HashMap::new() }
    }

    fn ensure(&mut self, id: &[u8]) -> Result<u32, Error> {
        if let Some(&i) = self.index.get(id) {
            return Ok(i);
        }
        let Ok(i) = u32::try_from(self.index.len()) else {
            fail!(limit: "splitstream writer: too many distinct references");
        };
        self.index.insert(id.to_vec(), i);
        self.bytes.extend_from_slice(id);
        Ok(i)
    }
}

/// What the host writes: `prefix`, then every drained output chunk, then
/// `tail`. `file_size` is the length of all of that.
#[derive(Debug)]
pub struct Finished {
    pub prefix: Vec<u8>,
    pub tail: Vec<u8>,
    pub file_size: u64,
}

pub struct Writer {
    algorithm: HashAlgorithm,
    content_type: u64,
    encoder: Encoder<'static, Vec<u8>>,
    object_refs: RefTable,
    stream_refs: RefTable,
    named_refs: BTreeMap<String, u32>,
    stream_size: u64,
    /// Bytes the current inline chunk still expects.
    inline_left: u64,
    /// Compressed bytes already handed to the host.
    drained: u64,
}

impl Writer {
    pub fn new(algorithm: HashAlgorithm, content_type: u64) -> Result<Self, Error> {
        // Level 0 means zstd's default, 3: what composefs-rs asks for.
        let encoder = Encoder::new(Vec::new(), 0).map_err(zstd_error)?;
        Ok(Self {
            algorithm,
            content_type,
            encoder,
            object_refs: RefTable::new(),
            stream_refs: RefTable::new(),
            named_refs: BTreeMap::new(),
            stream_size: 0,
            inline_left: 0,
            drained: 0,
        })
    }

    fn add_size(&mut self, size: u64) -> Result<(), Error> {
        let Some(total) = self.stream_size.checked_add(size) else {
            fail!(limit: "splitstream writer: stream size overflows 64 bits");
        };
        self.stream_size = total;
        Ok(())
    }

    fn check_between_chunks(&self, what: &str) -> Result<(), Error> {
        if self.inline_left > 0 {
            fail!("splitstream writer: {what} while the inline chunk still expects {} bytes", self.inline_left);
        }
        Ok(())
    }

    fn check_id(&self, what: &str, id: &[u8]) -> Result<(), Error> {
        let want = self.algorithm.digest_size();
        if id.len() != want {
            fail!("splitstream writer: {what} is {} bytes, expected a {want}-byte {} digest", id.len(), self.algorithm.name());
        }
        Ok(())
    }

    /// Starts an inline chunk of `size` bytes (the whole coalesced run).
    pub fn begin_inline(&mut self, size: u64) -> Result<(), Error> {
        self.check_between_chunks("a new inline chunk began")?;
        if size == 0 {
            fail!("splitstream writer: an inline chunk cannot be empty");
        }
        let Ok(signed) = i64::try_from(size) else {
            fail!("splitstream writer: inline chunk of {size} bytes is too large");
        };
        self.add_size(size)?;
        self.inline_left = size;
        self.encoder.write_all(&(-signed).to_le_bytes()).map_err(zstd_error)
    }

    /// The next bytes of the current inline chunk.
    pub fn inline_data(&mut self, data: &[u8]) -> Result<(), Error> {
        if data.len() as u64 > self.inline_left {
            fail!(
                "splitstream writer: {} inline bytes given, but the inline chunk expects only {} more",
                data.len(),
                self.inline_left
            );
        }
        self.inline_left -= data.len() as u64;
        self.encoder.write_all(data).map_err(zstd_error)
    }

    /// A whole inline chunk at once; nothing for empty data.
    pub fn inline_chunk(&mut self, data: &[u8]) -> Result<(), Error> {
        if data.is_empty() {
            return Ok(());
        }
        self.begin_inline(data.len() as u64)?;
        self.inline_data(data)
    }

    /// A reference to an object already stored, `size` bytes long.
    pub fn external(&mut self, object_id: &[u8], size: u64) -> Result<(), Error> {
        self.check_between_chunks("an external reference came")?;
        self.check_id("object ID", object_id)?;
        self.add_size(size)?;
        let index = self.object_refs.ensure(object_id)?;
        self.encoder.write_all(&i64::from(index).to_le_bytes()).map_err(zstd_error)
    }

    /// Many chunks in one call (one host call per batch of tar entries
    /// rather than several per entry): for each `i`, an inline chunk of
    /// `inline_lengths[i]` bytes taken in order from `inline` (none for 0),
    /// then a reference to the object `object_ids[i]` (digests back to back)
    /// of `sizes[i]` bytes. The same bytes as the single calls, since the
    /// encoder sees the same input. Returns the output ready so far.
    pub fn write_batch(&mut self, inline: &[u8], inline_lengths: &[u64], object_ids: &[u8], sizes: &[u64]) -> Result<Vec<u8>, Error> {
        let n = sizes.len();
        let id_size = self.algorithm.digest_size();
        if inline_lengths.len() != n || object_ids.len() != n * id_size {
            fail!(
                "splitstream writer: a batch of {n} references has {} inline lengths and {} bytes of object IDs (expected {n} and {})",
                inline_lengths.len(),
                object_ids.len(),
                n * id_size
            );
        }
        let total = inline_lengths.iter().try_fold(0u64, |sum, &l| sum.checked_add(l));
        if total != Some(inline.len() as u64) {
            fail!("splitstream writer: a batch's inline lengths do not add up to its {} inline bytes", inline.len());
        }
        let mut at = 0usize;
        for ((&length, id), &size) in inline_lengths.iter().zip(object_ids.chunks_exact(id_size)).zip(sizes) {
            // Each length is at most inline.len() (checked above), so it fits.
            let end = at + length as usize;
            self.inline_chunk(&inline[at..end])?;
            at = end;
            self.external(id, size)?;
        }
        Ok(self.take_output())
    }

    /// Names another stream; a name given again points at the new stream
    /// (the old one stays in stream_refs, as with composefs-rs).
    pub fn add_named_ref(&mut self, name: &str, stream_id: &[u8]) -> Result<(), Error> {
        if name.contains('\0') {
            fail!("splitstream writer: named ref {name:?} contains a NUL byte");
        }
        self.check_id("stream ID", stream_id)?;
        let index = self.stream_refs.ensure(stream_id)?;
        self.named_refs.insert(name.to_owned(), index);
        Ok(())
    }

    /// Compressed bytes ready for the host, in order.
    pub fn take_output(&mut self) -> Vec<u8> {
        let out = std::mem::take(self.encoder.get_mut());
        self.drained += out.len() as u64;
        out
    }

    /// Compressed bytes waiting in [`Writer::take_output`].
    pub fn pending_output(&self) -> usize {
        self.encoder.get_ref().len()
    }

    /// Ends the stream: the last compressed bytes and the file's prefix.
    pub fn finish(self) -> Result<Finished, Error> {
        self.check_between_chunks("the stream was finished")?;
        // The encoder's buffer still holds whatever was not drained.
        let tail = self.encoder.finish().map_err(zstd_error)?;
        let stream_len = self.drained + tail.len() as u64;
        let named = encode_named_refs(&self.named_refs)?;
        let prefix = encode_prefix(
            self.algorithm,
            self.content_type,
            self.stream_size,
            &self.stream_refs.bytes,
            &self.object_refs.bytes,
            &named,
            stream_len,
        );
        let file_size = prefix.len() as u64 + stream_len;
        Ok(Finished { prefix, tail, file_size })
    }
}

fn zstd_error(err: std::io::Error) -> Error {
    Error::malformed(format!("zstd compression failed: {err}"))
}
