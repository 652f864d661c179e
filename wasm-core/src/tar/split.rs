//! The streaming splitter. Bytes go in as they arrive, in chunks of any
//! size; out come, in order, the bytes to keep inline (header blocks, PAX
//! and GNU records, padding, the end-of-archive blocks and anything after
//! them), each member's metadata, and the ranges of the chunk that are
//! member content. Concatenating inline bytes and content ranges in event
//! order gives back the input exactly.
//!
//! Memory is bounded whatever the input: one header block, and one PAX or
//! GNU record of at most [`MAX_EXTENSION`] bytes per slot; content passes
//! through as ranges of the caller's chunk, never copied.
//!
//! End of input (as Go's reader, hence tar-split, accepts): after the two
//! zero blocks, or at a member boundary without them, or after one zero
//! block. Anything else — inside a header, a record, content or padding —
//! is a truncated archive.

use super::entry::{build_entry, Entry, Pending};
use super::header::{is_zero, parse_header, BLOCK};
use super::pax::parse_records;
use crate::error::{CoreError, ErrorKind};
use std::fmt;

/// Largest PAX record set or GNU long name/link accepted (Go's limit).
pub const MAX_EXTENSION: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Bytes to keep as they are.
    Inline(Vec<u8>),
    /// A member; its `size` bytes of content follow as `Content` events.
    Entry(Box<Entry>),
    /// `len` bytes of the current member's content, at `start` in the chunk
    /// just pushed.
    Content { start: usize, len: usize },
    /// The end-of-archive blocks were seen; later bytes are all inline.
    End,
}

#[derive(Debug, PartialEq, Eq)]
pub struct TarError {
    pub kind: ErrorKind,
    /// Byte offset in the archive where the problem is.
    pub offset: u64,
    /// The member concerned, when known: its index and path.
    pub entry: Option<(u64, String)>,
    pub problem: String,
}

impl fmt::Display for TarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.entry {
            Some((index, path)) => write!(f, "tar entry {index} ({path}) at byte {}: {}", self.offset, self.problem),
            None => write!(f, "tar header at byte {}: {}", self.offset, self.problem),
        }
    }
}

impl std::error::Error for TarError {}

impl CoreError for TarError {
    fn kind(&self) -> ErrorKind {
        self.kind
    }
}

#[derive(Clone, Copy, Debug)]
enum State {
    /// Filling `block` with a header.
    Header,
    /// Filling `block` with what must be the second end-of-archive block.
    SecondZero,
    /// Collecting `size` bytes of a PAX ('x', 'g') or GNU ('L', 'K') record.
    Extension { kind: u8, size: usize },
    Content { remaining: u64, padding: usize },
    Padding { remaining: usize },
    Trailer,
    Failed,
}

pub struct Splitter {
    state: State,
    block: Box<[u8; BLOCK]>,
    fill: usize,
    extension: Vec<u8>,
    pending: Pending,
    /// Inline bytes not yet handed out.
    inline: Vec<u8>,
    /// Bytes consumed so far.
    offset: u64,
    entries: u64,
    /// The member whose content or padding is being read, for messages.
    current: Option<(u64, String, u64)>,
    ended: bool,
}

impl Default for Splitter {
    fn default() -> Self {
        Self::new()
    }
}

fn padding_after(size: u64) -> usize {
    ((BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64) as usize
}

impl Splitter {
    pub fn new() -> Self {
        Self {
            state: State::Header,
            block: Box::new([0; BLOCK]),
            fill: 0,
            extension: Vec::new(),
            pending: Pending::default(),
            inline: Vec::new(),
            offset: 0,
            entries: 0,
            current: None,
            ended: false,
        }
    }

    /// Whether the end-of-archive blocks have been seen.
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Members seen so far.
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// The events for `input`, the next bytes of the archive.
    pub fn push(&mut self, input: &[u8]) -> Result<Vec<Event>, TarError> {
        let mut events = Vec::new();
        let result = self.consume(input, &mut events);
        if result.is_err() {
            self.state = State::Failed;
        }
        result.map(|()| events)
    }

    /// Declares the end of input: an error if the archive was cut short.
    pub fn finish(&mut self) -> Result<(), TarError> {
        let problem = match self.state {
            State::Header if self.fill == 0 && self.pending.is_empty() => return Ok(()),
            State::SecondZero if self.fill == 0 => return Ok(()),
            State::Trailer => return Ok(()),
            State::Failed => "the archive was already found damaged".to_string(),
            State::Header if self.fill == 0 => "the archive ends after extended headers, without their member".into(),
            State::Header | State::SecondZero => format!("the archive ends inside a header ({} of 512 bytes)", self.fill),
            State::Extension { size, .. } => {
                format!("the archive ends inside an extended header ({} of {size} bytes)", self.extension.len())
            }
            State::Content { remaining, .. } => format!("the archive ends {remaining} bytes before the end of the content"),
            State::Padding { remaining } => format!("the archive ends {remaining} bytes before the end of the padding"),
        };
        self.state = State::Failed;
        Err(self.error(problem))
    }

    /// Bytes of the current member's content still to come (0 when the
    /// splitter is not inside content).
    pub fn content_remaining(&self) -> u64 {
        match self.state {
            State::Content { remaining, .. } => remaining,
            _ => 0,
        }
    }

    /// Moves past `len` bytes of the current member's content without
    /// seeing them: a host reading a splitstream holds large files as
    /// objects, so their bytes are supplied elsewhere, and feeding zeros
    /// instead would cost as much as reading them.
    pub fn skip_content(&mut self, len: u64) -> Result<(), TarError> {
        let result = match self.state {
            State::Content { remaining, padding } if len <= remaining => {
                self.advance_content(remaining, padding, len);
                Ok(())
            }
            State::Content { remaining, .. } => {
                Err(self.error(format!("{len} bytes of content supplied where {remaining} remain")))
            }
            State::Failed => Err(self.error("the archive was already found damaged")),
            _ => Err(self.error(format!("{len} bytes of content supplied where no member content is expected"))),
        };
        if result.is_err() {
            self.state = State::Failed;
        }
        result
    }

    fn advance_content(&mut self, remaining: u64, padding: usize, taken: u64) {
        self.offset += taken;
        self.state = match (remaining - taken, padding) {
            (0, 0) => State::Header,
            (0, padding) => State::Padding { remaining: padding },
            (remaining, padding) => State::Content { remaining, padding },
        };
        if matches!(self.state, State::Header) {
            self.current = None;
        }
    }

    fn error(&self, problem: impl Into<String>) -> TarError {
        TarError {
            kind: ErrorKind::Malformed,
            offset: self.offset,
            entry: self.current.as_ref().map(|(i, p, _)| (*i, p.clone())),
            problem: problem.into(),
        }
    }

    fn flush_inline(&mut self, events: &mut Vec<Event>) {
        if !self.inline.is_empty() {
            events.push(Event::Inline(std::mem::take(&mut self.inline)));
        }
    }

    fn consume(&mut self, input: &[u8], events: &mut Vec<Event>) -> Result<(), TarError> {
        let mut pos = 0;
        while pos < input.len() {
            let rest = &input[pos..];
            let taken = match self.state {
                State::Failed => return Err(self.error("the archive was already found damaged")),
                State::Header | State::SecondZero => {
                    let take = (BLOCK - self.fill).min(rest.len());
                    self.block[self.fill..self.fill + take].copy_from_slice(&rest[..take]);
                    self.inline.extend_from_slice(&rest[..take]);
                    self.fill += take;
                    self.offset += take as u64;
                    if self.fill == BLOCK {
                        self.fill = 0;
                        self.on_block(events)?;
                    }
                    take
                }
                State::Extension { kind, size } => {
                    let take = (size - self.extension.len()).min(rest.len());
                    self.extension.extend_from_slice(&rest[..take]);
                    self.inline.extend_from_slice(&rest[..take]);
                    self.offset += take as u64;
                    if self.extension.len() == size {
                        self.on_extension(kind)?;
                    }
                    take
                }
                State::Content { remaining, padding } => {
                    let take = remaining.min(rest.len() as u64) as usize;
                    self.flush_inline(events);
                    events.push(Event::Content { start: pos, len: take });
                    self.advance_content(remaining, padding, take as u64);
                    take
                }
                State::Padding { remaining } => {
                    let take = remaining.min(rest.len());
                    self.inline.extend_from_slice(&rest[..take]);
                    self.offset += take as u64;
                    if take == remaining {
                        self.state = State::Header;
                        self.current = None;
                    } else {
                        self.state = State::Padding { remaining: remaining - take };
                    }
                    take
                }
                State::Trailer => {
                    self.inline.extend_from_slice(rest);
                    self.offset += rest.len() as u64;
                    rest.len()
                }
            };
            pos += taken;
        }
        self.flush_inline(events);
        Ok(())
    }

    fn on_block(&mut self, events: &mut Vec<Event>) -> Result<(), TarError> {
        let block_offset = self.offset - BLOCK as u64;
        if let State::SecondZero = self.state {
            if !is_zero(&self.block) {
                return Err(TarError {
                    kind: ErrorKind::Malformed,
                    offset: block_offset,
                    entry: None,
                    problem: "a zero block followed by a non-zero block (damaged end of archive)".into(),
                });
            }
            self.state = State::Trailer;
            self.ended = true;
            self.flush_inline(events);
            events.push(Event::End);
            return Ok(());
        }
        if is_zero(&self.block) {
            if !self.pending.is_empty() {
                return Err(self.error("extended headers are followed by the end of the archive, not a member"));
            }
            self.state = State::SecondZero;
            return Ok(());
        }
        let header = parse_header(&self.block).map_err(|e| TarError {
            kind: ErrorKind::Malformed,
            offset: block_offset,
            entry: None,
            problem: e.to_string(),
        })?;
        let too_big = |what: &str, size: i64| TarError {
            kind: ErrorKind::Limit,
            offset: block_offset,
            entry: None,
            problem: format!("{what} of {size} bytes exceeds the limit of {MAX_EXTENSION} bytes"),
        };
        match header.typeflag {
            kind @ (b'x' | b'g' | b'L' | b'K') => {
                let what = if kind == b'x' || kind == b'g' { "PAX header" } else { "GNU long name" };
                if header.size < 0 || header.size as u64 > MAX_EXTENSION {
                    return Err(too_big(what, header.size));
                }
                if kind == b'g' && !self.pending.is_empty() {
                    return Err(self.error("a global PAX header between extended headers and their member"));
                }
                if kind != b'g' && self.pending.offset.is_none() {
                    self.pending.offset = Some(block_offset);
                }
                self.extension.clear();
                self.state = State::Extension { kind, size: header.size as usize };
                if header.size == 0 {
                    self.on_extension(kind)?;
                }
                Ok(())
            }
            _ => {
                let pending = std::mem::take(&mut self.pending);
                let header_offset = pending.offset.unwrap_or(block_offset);
                let index = self.entries;
                let shown = String::from_utf8_lossy(&header.name).into_owned();
                let entry = build_entry(header, pending, index, (header_offset, self.offset)).map_err(|(kind, problem)| TarError {
                    kind,
                    offset: block_offset,
                    entry: Some((index, shown)),
                    problem,
                })?;
                self.entries += 1;
                let size = entry.size;
                self.current = Some((index, String::from_utf8_lossy(&entry.path).into_owned(), size));
                self.flush_inline(events);
                events.push(Event::Entry(Box::new(entry)));
                self.state = if size == 0 {
                    self.current = None;
                    State::Header
                } else {
                    State::Content { remaining: size, padding: padding_after(size) }
                };
                Ok(())
            }
        }
    }

    fn on_extension(&mut self, kind: u8) -> Result<(), TarError> {
        let data = std::mem::take(&mut self.extension);
        let start = self.offset - data.len() as u64;
        let bad = |problem: String| TarError { kind: ErrorKind::Malformed, offset: start, entry: None, problem };
        match kind {
            b'x' => self.pending.pax = Some(parse_records(&data).map_err(bad)?),
            // Global records are validated but, as in Go's reader, not
            // applied to later members; their bytes stay inline.
            b'g' => {
                parse_records(&data).map_err(bad)?;
            }
            b'L' => self.pending.long_name = Some(super::header::c_string(&data).to_vec()),
            _ => self.pending.long_link = Some(super::header::c_string(&data).to_vec()),
        }
        let padding = padding_after(data.len() as u64);
        self.state = if padding == 0 { State::Header } else { State::Padding { remaining: padding } };
        Ok(())
    }
}
