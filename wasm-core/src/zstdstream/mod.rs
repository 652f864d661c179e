//! Streaming zstd decompression of layer blobs (`application/vnd.oci.image.
//! layer.v1.tar+zstd`, zstd:chunked): any number of frames back to back,
//! skippable frames between them (zstd:chunked keeps its table of contents
//! in one), input fed in pieces as it arrives and output taken out in
//! bounded pieces, so a highly compressed blob never becomes one large
//! buffer. The end of the input must fall between frames.
//!
//! Not here: splitstream sections (`splitstream::decoder`, with its own
//! tighter window), any limit on how much a blob may expand (the host
//! knows the blob's declared size and enforces that).

use zstd::stream::raw::{DParameter, Decoder, InBuffer, Operation, OutBuffer};

#[cfg(test)]
mod tests;

/// zstd's own default limit (`ZSTD_WINDOWLOG_LIMIT_DEFAULT`): what every
/// standard decoder accepts without being told more, `zstd --long`
/// included. Bounds what one decoder allocates to 128 MiB.
const WINDOW_LOG_MAX: u32 = 27;

crate::error::module_error!(
    /// A blob that is not zstd data this decoder can read to its end.
    Error
);

pub struct ZstdStream {
    zstd: Decoder<'static>,
    input: Vec<u8>,
    input_pos: usize,
    /// Compressed bytes consumed so far, for messages.
    consumed: u64,
    /// Decompressed bytes produced so far.
    produced: u64,
    /// zstd's last hint: 0 when between frames (or before the first).
    hint: usize,
    /// Output may still be inside zstd though all input is consumed
    /// (only ever mid-frame: at a frame's end zstd has flushed it all).
    flushing: bool,
    failed: bool,
}

impl ZstdStream {
    pub fn new() -> Result<Self, Error> {
        let mut zstd = Decoder::new().map_err(|e| Error::limit(format!("zstd decoder: {e}")))?;
        zstd.set_parameter(DParameter::WindowLogMax(WINDOW_LOG_MAX))
            .map_err(|e| Error::limit(format!("zstd decoder: {e}")))?;
        Ok(Self { zstd, input: Vec::new(), input_pos: 0, consumed: 0, produced: 0, hint: 0, flushing: false, failed: false })
    }

    /// The next compressed bytes; what was fed before and not yet
    /// decompressed is kept.
    pub fn feed(&mut self, data: &[u8]) {
        self.input.drain(..self.input_pos);
        self.input_pos = 0;
        self.input.extend_from_slice(data);
    }

    /// Up to `max` decompressed bytes; empty when everything fed so far
    /// has been decompressed and taken.
    pub fn read(&mut self, max: usize) -> Result<Vec<u8>, Error> {
        if self.failed {
            return Err(Error::malformed("zstd data was already found corrupt"));
        }
        let mut out = vec![0u8; max.max(1)];
        let mut written = 0;
        while written < out.len() {
            let pending = &self.input[self.input_pos..];
            // Between frames zstd wants a new frame header: asking it to
            // flush then would report a frame begun.
            if pending.is_empty() && !(self.flushing && self.hint != 0) {
                break;
            }
            let mut input = InBuffer::around(pending);
            let mut output = OutBuffer::around(&mut out[written..]);
            let at = self.consumed;
            let hint = self.zstd.run(&mut input, &mut output);
            let (read, wrote) = (input.pos(), output.pos());
            self.hint = match hint {
                Ok(hint) => hint,
                Err(e) => {
                    self.failed = true;
                    let message = format!("corrupt or unsupported zstd data near compressed byte {at}: {e}");
                    // A window over WINDOW_LOG_MAX is a bound of ours, not damage.
                    let too_large = e.to_string().contains("too much memory");
                    return Err(if too_large { Error::limit(message) } else { Error::malformed(message) });
                }
            };
            self.input_pos += read;
            self.consumed += read as u64;
            written += wrote;
            // A full output buffer may leave decoded bytes inside zstd.
            self.flushing = written == out.len() && self.hint != 0;
            if read == 0 && wrote == 0 {
                break;
            }
        }
        out.truncate(written);
        self.produced += written as u64;
        Ok(out)
    }

    /// No more input: fails unless it ended between frames, with every
    /// byte fed decompressed and taken.
    pub fn finish(&mut self) -> Result<(), Error> {
        if self.failed {
            return Err(Error::malformed("zstd data was already found corrupt"));
        }
        if self.consumed == 0 && self.input.is_empty() {
            return Err(Error::malformed("zstd data is empty (not even one frame)"));
        }
        if self.input_pos < self.input.len() || self.flushing {
            return Err(Error::malformed("zstd stream finished before all its input was read"));
        }
        if self.hint != 0 {
            return Err(Error::malformed(format!(
                "zstd data is truncated: the last frame is incomplete after {} compressed bytes ({} decompressed)",
                self.consumed, self.produced
            )));
        }
        Ok(())
    }

    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    pub fn produced(&self) -> u64 {
        self.produced
    }
}
