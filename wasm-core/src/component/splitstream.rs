use super::exports::cfskit::core::splitstream as wit;
use super::errors::{malformed, wit_error};
use super::exports::cfskit::core::errors::Error as WitError;
use super::Core;
use crate::fsverity::HashAlgorithm;
use crate::splitstream::{
    decode_named_refs, parse_header, parse_info, Event, FileRange, Header, Info, Layout, StreamDecoder, Writer,
};
use std::cell::RefCell;

fn range_out(r: FileRange) -> wit::FileRange {
    wit::FileRange { start: r.start, end: r.end }
}

fn range_in(r: wit::FileRange) -> FileRange {
    FileRange { start: r.start, end: r.end }
}

fn algorithm_out(alg: HashAlgorithm) -> wit::HashAlgorithm {
    match alg {
        HashAlgorithm::Sha256 => wit::HashAlgorithm::Sha256,
        HashAlgorithm::Sha512 => wit::HashAlgorithm::Sha512,
    }
}

fn header_out(h: Header) -> wit::Header {
    wit::Header {
        layout: match h.layout {
            Layout::Current => wit::HeaderLayout::Current,
            Layout::Old => wit::HeaderLayout::Old,
        },
        algorithm: algorithm_out(h.algorithm),
        lg_block_size: h.lg_block_size,
        flags: h.flags,
        info: range_out(h.info),
    }
}

fn header_in(h: wit::Header) -> Header {
    Header {
        layout: match h.layout {
            wit::HeaderLayout::Current => Layout::Current,
            wit::HeaderLayout::Old => Layout::Old,
        },
        algorithm: h.algorithm.into(),
        lg_block_size: h.lg_block_size,
        flags: h.flags,
        info: range_in(h.info),
    }
}

fn info_out(i: Info) -> wit::Info {
    wit::Info {
        stream_refs: range_out(i.stream_refs),
        object_refs: range_out(i.object_refs),
        stream: range_out(i.stream),
        named_refs: range_out(i.named_refs),
        content_type: i.content_type,
        stream_size: i.stream_size,
    }
}

/// Resources are shared references across the boundary, hence the cells;
/// a finished writer leaves `None` behind.
pub struct WitWriter(RefCell<Option<Writer>>);

impl WitWriter {
    fn with<T>(&self, f: impl FnOnce(&mut Writer) -> T) -> Result<T, WitError> {
        match self.0.borrow_mut().as_mut() {
            Some(w) => Ok(f(w)),
            None => Err(malformed("splitstream writer: already finished")),
        }
    }
}

impl wit::GuestWriter for WitWriter {
    fn create(algorithm: wit::HashAlgorithm, content_type: u64) -> Result<wit::Writer, WitError> {
        let writer = Writer::new(algorithm.into(), content_type).map_err(wit_error)?;
        Ok(wit::Writer::new(Self(RefCell::new(Some(writer)))))
    }

    fn begin_inline(&self, size: u64) -> Result<(), WitError> {
        self.with(|w| w.begin_inline(size))?.map_err(wit_error)
    }

    fn inline_data(&self, data: Vec<u8>) -> Result<(), WitError> {
        self.with(|w| w.inline_data(&data))?.map_err(wit_error)
    }

    fn external(&self, object_id: Vec<u8>, size: u64) -> Result<(), WitError> {
        self.with(|w| w.external(&object_id, size))?.map_err(wit_error)
    }

    fn write_batch(&self, inline: Vec<u8>, inline_lengths: Vec<u64>, object_ids: Vec<u8>, sizes: Vec<u64>) -> Result<Vec<u8>, WitError> {
        self.with(|w| w.write_batch(&inline, &inline_lengths, &object_ids, &sizes))?.map_err(wit_error)
    }

    fn add_named_ref(&self, name: String, stream_id: Vec<u8>) -> Result<(), WitError> {
        self.with(|w| w.add_named_ref(&name, &stream_id))?.map_err(wit_error)
    }

    fn take_output(&self) -> Vec<u8> {
        self.with(Writer::take_output).unwrap_or_default()
    }

    fn finish(&self) -> Result<wit::Finished, WitError> {
        let writer = self.0.borrow_mut().take().ok_or_else(|| malformed("splitstream writer: already finished"))?;
        let f = writer.finish().map_err(wit_error)?;
        Ok(wit::Finished { prefix: f.prefix, tail: f.tail, file_size: f.file_size })
    }
}

pub struct WitStreamDecoder(RefCell<StreamDecoder>);

impl wit::GuestStreamDecoder for WitStreamDecoder {
    fn create(object_ref_count: u32, stream_size: u64) -> Result<wit::StreamDecoder, WitError> {
        let decoder = StreamDecoder::new(object_ref_count, stream_size).map_err(wit_error)?;
        Ok(wit::StreamDecoder::new(Self(RefCell::new(decoder))))
    }

    fn feed(&self, compressed: Vec<u8>) -> Result<(), WitError> {
        self.0.borrow_mut().feed(&compressed).map_err(wit_error)
    }

    fn end_input(&self) {
        self.0.borrow_mut().end_input();
    }

    fn next(&self) -> Result<wit::ChunkEvent, WitError> {
        Ok(match self.0.borrow_mut().next_event().map_err(wit_error)? {
            Event::Inline(data) => wit::ChunkEvent::Inline(data),
            Event::External(index) => wit::ChunkEvent::External(index),
            Event::NeedInput => wit::ChunkEvent::NeedInput,
            Event::End => wit::ChunkEvent::End,
        })
    }

    fn inline_bytes(&self) -> u64 {
        self.0.borrow().inline_bytes()
    }
}

impl wit::Guest for Core {
    type Writer = WitWriter;
    type StreamDecoder = WitStreamDecoder;

    fn parse_header(
        head: Vec<u8>,
        file_size: u64,
        expected_algorithm: Option<wit::HashAlgorithm>,
    ) -> Result<wit::Header, WitError> {
        parse_header(&head, file_size, expected_algorithm.map(Into::into)).map(header_out).map_err(wit_error)
    }

    fn parse_info(
        header: wit::Header,
        bytes: Vec<u8>,
        file_size: u64,
        expected_content_type: Option<u64>,
    ) -> Result<wit::Info, WitError> {
        parse_info(&header_in(header), &bytes, file_size, expected_content_type).map(info_out).map_err(wit_error)
    }

    fn decode_named_refs(compressed: Vec<u8>, stream_ref_count: u32) -> Result<Vec<wit::NamedRef>, WitError> {
        let refs = decode_named_refs(&compressed, u64::from(stream_ref_count)).map_err(wit_error)?;
        Ok(refs.into_iter().map(|r| wit::NamedRef { name: r.name, index: r.index }).collect())
    }
}
