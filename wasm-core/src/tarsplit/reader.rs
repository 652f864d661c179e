//! Streaming: NDJSON bytes arrive in chunks of any size; lines may split
//! across chunks. Each complete line becomes a [`Record`], checked against
//! the ones before it (positions in sequence, no name twice — tar-split's
//! own unpacker refuses duplicates, so no valid layer has them).

use super::record::{parse_line, Record};
use super::TarSplitError;
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// Longest line accepted. tar-split's longest records are trailing padding
/// (written in 1 MiB pieces) and header runs with PAX/GNU data (1 MiB each
/// at most in Go's reader), about 1.4 MiB per MiB once in base64.
pub const MAX_LINE: usize = 8 << 20;

#[derive(Default)]
pub struct RecordReader {
    /// The unfinished line carried over from earlier chunks.
    partial: Vec<u8>,
    next_position: u64,
    /// Digests of the cleaned names seen so far (16 bytes each, whatever
    /// the names' length).
    seen: HashSet<[u8; 16]>,
    finished: bool,
}

impl RecordReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records completed by `chunk`, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Record>, TarSplitError> {
        if self.finished {
            return Err(TarSplitError::new(self.next_position, "data after the end of the input"));
        }
        let mut records = Vec::new();
        let mut rest = chunk;
        while let Some(nl) = rest.iter().position(|&b| b == b'\n') {
            let (line, after) = rest.split_at(nl);
            rest = &after[1..];
            if self.partial.is_empty() {
                self.check_length(line.len())?;
                self.line(line, &mut records)?;
            } else {
                self.check_length(self.partial.len() + line.len())?;
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                self.line(&whole, &mut records)?;
            }
        }
        self.check_length(self.partial.len() + rest.len())?;
        self.partial.extend_from_slice(rest);
        Ok(records)
    }

    /// Ends the input: the last line may lack its newline.
    pub fn finish(&mut self) -> Result<Vec<Record>, TarSplitError> {
        if self.finished {
            return Ok(Vec::new());
        }
        self.finished = true;
        let mut records = Vec::new();
        let last = std::mem::take(&mut self.partial);
        self.line(&last, &mut records)?;
        Ok(records)
    }

    /// How many records have been read.
    pub fn count(&self) -> u64 {
        self.next_position
    }

    fn check_length(&self, len: usize) -> Result<(), TarSplitError> {
        if len > MAX_LINE {
            let mib = MAX_LINE >> 20;
            return Err(TarSplitError::limit(self.next_position, format!("record longer than {mib} MiB")));
        }
        Ok(())
    }

    fn line(&mut self, line: &[u8], out: &mut Vec<Record>) -> Result<(), TarSplitError> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        let entry = self.next_position;
        let record = parse_line(entry, line)?;
        if let Record::File { path, name, .. } = &record {
            let digest = Sha256::digest(path);
            let mut key = [0u8; 16];
            key.copy_from_slice(&digest[..16]);
            if !self.seen.insert(key) {
                let shown = String::from_utf8_lossy(name);
                return Err(TarSplitError::new(entry, format!("name {shown:?} appears twice")));
            }
        }
        self.next_position += 1;
        out.push(record);
        Ok(())
    }
}
