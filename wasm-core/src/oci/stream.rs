//! A layer splitstream's stream section fed compressed: decoded here and
//! handed on chunk by chunk, so a host makes one call per piece of
//! compressed data instead of one per chunk (a layer of thousands of files
//! has thousands of object references).

use super::error::Error;
use crate::splitstream::{Event, StreamDecoder};
use crate::tree::ObjectId;

/// One decoded chunk of a layer stream.
pub enum Chunk<'a> {
    Inline(&'a [u8]),
    External(&'a ObjectId),
}

/// A damaged stream, or what the sink refused.
pub enum FeedError {
    Stream(Error),
    Sink(Error),
}

pub struct StreamFeed {
    decoder: StreamDecoder,
    object_refs: Vec<ObjectId>,
}

impl StreamFeed {
    /// A stream with these object refs (in order) and `stream_size`.
    pub fn new(object_refs: Vec<ObjectId>, stream_size: u64) -> Result<Self, Error> {
        let count = u32::try_from(object_refs.len()).map_err(|_| Error::limit("more than 2^32 object refs"))?;
        let decoder = StreamDecoder::new(count, stream_size)?;
        Ok(Self { decoder, object_refs })
    }

    /// Decodes what `compressed` (the next bytes, or none at the end) allows
    /// and gives each chunk to `sink`; returns the sum of what it returned.
    pub fn feed(
        &mut self,
        compressed: Option<&[u8]>,
        mut sink: impl FnMut(Chunk<'_>) -> Result<u32, Error>,
    ) -> Result<u32, FeedError> {
        let stream = |e: crate::splitstream::Error| FeedError::Stream(e.into());
        match compressed {
            Some(data) => self.decoder.feed(data).map_err(stream)?,
            None => self.decoder.end_input(),
        }
        let mut total = 0;
        loop {
            let taken = match self.decoder.next_event().map_err(stream)? {
                Event::Inline(data) => sink(Chunk::Inline(&data)),
                // The decoder checked the index against the count.
                Event::External(i) => sink(Chunk::External(&self.object_refs[i as usize])),
                Event::NeedInput | Event::End => return Ok(total),
            };
            total += taken.map_err(FeedError::Sink)?;
        }
    }
}
