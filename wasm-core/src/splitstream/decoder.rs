//! The stream section, decoded incrementally: the host feeds compressed
//! bytes as the decoder asks for them and takes out one chunk event at a
//! time. Memory stays at zstd's window plus one output buffer whatever the
//! stream claims, and every length read from the stream is checked against
//! what remains of `stream_size` before it is trusted.

use super::error::{fail, Error};
use zstd::stream::raw::{DParameter, Decoder, InBuffer, Operation, OutBuffer};

/// The most inline bytes one [`Event::Inline`] carries.
pub const EVENT_MAX_INLINE: usize = 128 * 1024;

/// composefs-rs compresses at zstd level 3, whose window is at most 2^21
/// bytes. 2^24 leaves room for other writers while refusing frames that
/// would make the decoder allocate up to zstd's own limit (2^27 or more).
const WINDOW_LOG_MAX: u32 = 24;

pub(crate) fn zstd_decoder() -> Result<Decoder<'static>, Error> {
    let mut decoder = Decoder::new().map_err(|e| Error::malformed(format!("zstd decoder: {e}")))?;
    decoder
        .set_parameter(DParameter::WindowLogMax(WINDOW_LOG_MAX))
        .map_err(|e| Error::malformed(format!("zstd decoder: {e}")))?;
    Ok(decoder)
}

#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// Bytes of the original, in order (at most [`EVENT_MAX_INLINE`]).
    Inline(Vec<u8>),
    /// The whole content of this object (an index into object_refs).
    External(u32),
    /// Call [`StreamDecoder::feed`] (or [`StreamDecoder::end_input`]).
    NeedInput,
    /// The stream is over and was well formed.
    End,
}

enum State {
    /// Reading the 8-byte chunk header; `have` bytes of it so far.
    Header { bytes: [u8; 8], have: usize },
    /// Inside an inline chunk with this many bytes still to come.
    Inline { remaining: u64 },
}

pub struct StreamDecoder {
    zstd: Decoder<'static>,
    input: Vec<u8>,
    input_pos: usize,
    input_ended: bool,
    /// Compressed bytes consumed so far, for error messages.
    consumed: u64,
    /// zstd's last hint: 0 when between frames (or before the first).
    hint: usize,
    out: Box<[u8]>,
    out_pos: usize,
    out_end: usize,
    state: State,
    object_ref_count: u32,
    stream_size: u64,
    /// Decompressed bytes parsed so far (headers and inline data).
    decoded: u64,
    inline_bytes: u64,
    done: bool,
}

impl StreamDecoder {
    /// A decoder for a stream with `object_ref_count` object refs and the
    /// given `stream_size` (from the info section).
    pub fn new(object_ref_count: u32, stream_size: u64) -> Result<Self, Error> {
        Ok(Self {
            zstd: zstd_decoder()?,
            input: Vec::new(),
            input_pos: 0,
            input_ended: false,
            consumed: 0,
            hint: 0,
            out: vec![0; EVENT_MAX_INLINE].into_boxed_slice(),
            out_pos: 0,
            out_end: 0,
            state: State::Header { bytes: [0; 8], have: 0 },
            object_ref_count,
            stream_size,
            decoded: 0,
            inline_bytes: 0,
            done: false,
        })
    }

    /// Hands over the next compressed bytes. Feed only after
    /// [`Event::NeedInput`]: input is kept until it is decoded.
    pub fn feed(&mut self, data: &[u8]) -> Result<(), Error> {
        if self.input_ended {
            fail!("splitstream decoder: input fed after its end was announced");
        }
        self.input.drain(..self.input_pos);
        self.input_pos = 0;
        self.input.extend_from_slice(data);
        Ok(())
    }

    /// Says that no more compressed bytes will come.
    pub fn end_input(&mut self) {
        self.input_ended = true;
    }

    /// Inline bytes returned so far; with the external objects' sizes this
    /// must add up to `stream_size` at the end (the host checks that).
    pub fn inline_bytes(&self) -> u64 {
        self.inline_bytes
    }

    pub fn next_event(&mut self) -> Result<Event, Error> {
        if self.done {
            return Ok(Event::End);
        }
        loop {
            if self.out_pos < self.out_end {
                if let Some(event) = self.parse()? {
                    return Ok(event);
                }
            } else if !self.refill()? {
                if !self.input_ended {
                    return Ok(Event::NeedInput);
                }
                return self.finish();
            }
        }
    }

    /// Decompresses more into the empty output buffer; false if zstd needs
    /// input first.
    fn refill(&mut self) -> Result<bool, Error> {
        let pending = &self.input[self.input_pos..];
        if pending.is_empty() && self.hint == 0 {
            // Between frames with nothing to read: no work for zstd.
            return Ok(false);
        }
        let mut input = InBuffer::around(pending);
        let mut output = OutBuffer::around(&mut self.out[..]);
        let at = self.consumed;
        self.hint = self.zstd.run(&mut input, &mut output).map_err(|e| {
            Error::malformed(format!("splitstream stream: corrupt or unsupported zstd data near compressed byte {at}: {e}"))
        })?;
        let (read, written) = (input.pos(), output.pos());
        self.input_pos += read;
        self.consumed += read as u64;
        self.out_pos = 0;
        self.out_end = written;
        if written == self.out.len() {
            // More output may be waiting inside zstd even with no input.
            self.hint = self.hint.max(1);
        }
        Ok(read > 0 || written > 0)
    }

    /// Takes what it can from the output buffer: an event, or None when
    /// the buffer ran dry inside a chunk header.
    fn parse(&mut self) -> Result<Option<Event>, Error> {
        let avail = &self.out[self.out_pos..self.out_end];
        match &mut self.state {
            State::Header { bytes, have } => {
                let take = (8 - *have).min(avail.len());
                bytes[*have..*have + take].copy_from_slice(&avail[..take]);
                *have += take;
                self.out_pos += take;
                if *have < 8 {
                    return Ok(None);
                }
                let value = i64::from_le_bytes(*bytes);
                let offset = self.decoded;
                self.decoded += 8;
                if value < 0 {
                    let size = value.unsigned_abs();
                    let left = self.stream_size - self.inline_bytes;
                    if size > left {
                        fail!(integrity:
                            "splitstream stream: inline chunk of {size} bytes at decompressed offset {offset} exceeds \
                             the {left} bytes left of the stream size {}",
                            self.stream_size
                        );
                    }
                    self.state = State::Inline { remaining: size };
                    Ok(None)
                } else {
                    self.state = State::Header { bytes: [0; 8], have: 0 };
                    match u32::try_from(value) {
                        Ok(index) if index < self.object_ref_count => Ok(Some(Event::External(index))),
                        _ => fail!(
                            "splitstream stream: external chunk at decompressed offset {offset} refers to object {value}, \
                             but there are only {} object refs",
                            self.object_ref_count
                        ),
                    }
                }
            }
            State::Inline { remaining } => {
                let take = (*remaining).min(avail.len() as u64) as usize;
                let data = avail[..take].to_vec();
                *remaining -= take as u64;
                if *remaining == 0 {
                    self.state = State::Header { bytes: [0; 8], have: 0 };
                }
                self.out_pos += take;
                self.decoded += take as u64;
                self.inline_bytes += take as u64;
                Ok(Some(Event::Inline(data)))
            }
        }
    }

    /// All input is in and decoded: the frame and the last chunk must be complete.
    fn finish(&mut self) -> Result<Event, Error> {
        if self.input_pos < self.input.len() || self.hint != 0 {
            fail!(
                "splitstream stream: zstd data is truncated (the frame is incomplete after {} compressed bytes)",
                self.consumed
            );
        }
        match self.state {
            State::Header { have: 0, .. } => {}
            State::Header { have, .. } => {
                fail!("splitstream stream ends inside a chunk header ({have} of 8 bytes at decompressed offset {})", self.decoded)
            }
            State::Inline { remaining } => {
                fail!("splitstream stream ends with {remaining} bytes of an inline chunk missing")
            }
        }
        self.done = true;
        Ok(Event::End)
    }
}
