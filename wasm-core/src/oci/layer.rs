//! The tar members of a stored layer splitstream, read as composefs-rs's
//! `tar::get_entry` reads them, without the contents of any object: the
//! host feeds the stream's chunks in order — inline bytes, which are tar
//! headers, padding and small files, and external chunks, each the whole
//! content of the regular file whose header came just before.
//!
//! Memory stays bounded: headers go through the tar splitter (one block
//! and one extension record at a time) and only file contents of at most
//! 64 bytes are ever collected.

use super::error::Error;
use super::entry::{external_entry, inline_entry, is_regular, LayerEntry};
use crate::fsverity::HashAlgorithm;
use crate::tar::{Entry, Event, Splitter};
use crate::tree::{ObjectId, INLINE_CONTENT_MAX};

/// A member whose header was read and whose content is still coming.
struct Pending {
    entry: Box<Entry>,
    content: Vec<u8>,
}

pub struct LayerReader {
    algorithm: HashAlgorithm,
    splitter: Splitter,
    pending: Option<Pending>,
    /// Members returned so far.
    count: u64,
}

fn describe(entry: &Entry) -> String {
    format!("tar entry {} ({})", entry.index, String::from_utf8_lossy(&entry.path))
}

impl LayerReader {
    pub fn new(algorithm: HashAlgorithm) -> Self {
        Self { algorithm, splitter: Splitter::new(), pending: None, count: 0 }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether the end-of-archive blocks were seen: composefs-rs stops
    /// there, so whatever follows is ignored.
    pub fn ended(&self) -> bool {
        self.splitter.ended()
    }

    /// The next inline bytes; returns the members they complete.
    pub fn inline(&mut self, data: &[u8]) -> Result<Vec<LayerEntry>, Error> {
        if self.ended() {
            return Ok(Vec::new());
        }
        let events = self.splitter.push(data)?;
        let mut done = Vec::new();
        for event in events {
            match event {
                Event::Inline(_) | Event::End => {}
                Event::Entry(entry) => {
                    if entry.size == 0 {
                        done.push(self.finish_inline(*entry, Vec::new())?);
                    } else {
                        // composefs-rs takes inline content only for small
                        // regular files; anything else is refused before
                        // its bytes are collected.
                        if !is_regular(entry.typeflag) {
                            return Err(Error::unsupported(format!("{}: unsupported tar entry type with {} bytes of content", describe(&entry), entry.size)));
                        }
                        self.pending = Some(Pending { entry, content: Vec::new() });
                    }
                }
                Event::Content { start, len } => {
                    let Some(pending) = self.pending.as_mut() else {
                        return Err("tar content without a member (internal error)".into());
                    };
                    if pending.entry.size > INLINE_CONTENT_MAX as u64 {
                        return Err(format!(
                            "{}: a {}-byte file is stored inline (at most {INLINE_CONTENT_MAX} bytes may be)",
                            describe(&pending.entry),
                            pending.entry.size
                        ).into());
                    }
                    pending.content.extend_from_slice(&data[start..start + len]);
                    if pending.content.len() as u64 == pending.entry.size {
                        let Pending { entry, content } = self.pending.take().expect("checked above");
                        done.push(self.finish_inline(*entry, content)?);
                    }
                }
            }
        }
        Ok(done)
    }

    fn finish_inline(&mut self, entry: Entry, content: Vec<u8>) -> Result<LayerEntry, Error> {
        self.count += 1;
        inline_entry(&entry, content).map_err(|e| e.context(describe(&entry)))
    }

    /// An external chunk naming object `id`: the whole content of the
    /// regular file whose header came last.
    pub fn external(&mut self, id: &[u8]) -> Result<Option<LayerEntry>, Error> {
        if self.ended() {
            return Ok(None);
        }
        if id.len() != self.algorithm.digest_size() {
            return Err(format!("object ID of {} bytes in a {}-byte digest stream", id.len(), self.algorithm.digest_size()).into());
        }
        let Some(pending) = self.pending.take() else {
            return Err(format!(
                "an object reference where a tar header is expected (after {} entries)",
                self.count
            ).into());
        };
        let entry = pending.entry;
        if !pending.content.is_empty() {
            return Err(format!("{}: content split between inline bytes and an object", describe(&entry)).into());
        }
        let layer_entry = external_entry(&entry, ObjectId::new(id)).map_err(|e| e.context(describe(&entry)))?;
        self.splitter.skip_content(entry.size)?;
        self.count += 1;
        Ok(Some(layer_entry))
    }

    /// The end of the stream: fails if it stops inside a member.
    pub fn finish(&mut self) -> Result<(), Error> {
        if let Some(pending) = &self.pending {
            return Err(format!("{}: the stream ends before its content", describe(&pending.entry)).into());
        }
        Ok(self.splitter.finish()?)
    }
}
