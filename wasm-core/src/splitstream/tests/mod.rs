//! Splitstream tests. `vectors` replays the scripts of
//! test/vectors/splitstream (written by composefs-rs) and compares bytes;
//! `hostile` feeds malformed files and checks each gets a precise error.

mod hostile;
mod vectors;

use super::*;
use crate::fsverity::{FileHasher, HashAlgorithm, Params};
use sha2::{Digest, Sha256};

/// The vectors' content generator (README in test/vectors/splitstream):
/// a 32-bit LCG, random bytes in even 256-byte runs, letters in odd ones.
pub(super) fn pattern(seed: u32, size: usize) -> Vec<u8> {
    let mut x = seed;
    (0..size)
        .map(|i| {
            x = x.wrapping_mul(1103515245).wrapping_add(12345);
            if i & 256 == 0 {
                (x >> 16) as u8
            } else {
                b'a' + (i % 23) as u8
            }
        })
        .collect()
}

pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

pub(super) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub(super) fn verity(alg: HashAlgorithm, data: &[u8]) -> Vec<u8> {
    let mut h = FileHasher::new(Params::new(alg, 12).unwrap());
    h.update(data);
    h.finish()
}

pub(super) fn alg(name: &str) -> HashAlgorithm {
    match name {
        "sha256" => HashAlgorithm::Sha256,
        "sha512" => HashAlgorithm::Sha512,
        other => panic!("unknown algorithm {other}"),
    }
}

/// A script step after expansion: what a host would call.
#[derive(Clone, Debug)]
pub(super) enum Step {
    Inline(Vec<u8>),
    External { id: Vec<u8>, content: Vec<u8> },
    Named { name: String, id: Vec<u8> },
}

/// Writes `steps` the way the TypeScript writer does: adjacent inline data
/// coalesced into one chunk, fed to the core in `piece`-byte slices, the
/// output drained after every call. Returns the whole file.
pub(super) fn write_file(alg: HashAlgorithm, content_type: u64, steps: &[Step], piece: usize) -> Vec<u8> {
    let mut writer = Writer::new(alg, content_type).unwrap();
    let mut stream = Vec::new();
    let mut run: Vec<u8> = Vec::new();
    let flush = |writer: &mut Writer, run: &mut Vec<u8>, stream: &mut Vec<u8>| {
        if run.is_empty() {
            return;
        }
        writer.begin_inline(run.len() as u64).unwrap();
        for p in run.chunks(piece) {
            writer.inline_data(p).unwrap();
            stream.extend(writer.take_output());
        }
        run.clear();
    };
    for step in steps {
        match step {
            Step::Inline(data) => run.extend_from_slice(data),
            Step::External { id, content } => {
                flush(&mut writer, &mut run, &mut stream);
                writer.external(id, content.len() as u64).unwrap();
                stream.extend(writer.take_output());
            }
            Step::Named { name, id } => writer.add_named_ref(name, id).unwrap(),
        }
    }
    flush(&mut writer, &mut run, &mut stream);
    let finished = writer.finish().unwrap();
    let mut file = finished.prefix;
    file.extend(stream);
    file.extend(finished.tail);
    assert_eq!(file.len() as u64, finished.file_size);
    file
}

/// Writes `steps` as the TypeScript writer does for layers: complete inline
/// runs and the references after them gathered `per_batch` at a time into
/// `write_batch` calls, the run left at the end written alone.
pub(super) fn write_file_batched(alg: HashAlgorithm, content_type: u64, steps: &[Step], per_batch: usize) -> Vec<u8> {
    let mut writer = Writer::new(alg, content_type).unwrap();
    let mut stream = Vec::new();
    let mut run: Vec<u8> = Vec::new();
    let (mut inline, mut lengths, mut ids, mut sizes) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for step in steps {
        match step {
            Step::Inline(data) => run.extend_from_slice(data),
            Step::External { id, content } => {
                lengths.push(run.len() as u64);
                inline.append(&mut run);
                ids.extend_from_slice(id);
                sizes.push(content.len() as u64);
                if sizes.len() == per_batch {
                    stream.extend(writer.write_batch(&inline, &lengths, &ids, &sizes).unwrap());
                    (inline, lengths, ids, sizes) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                }
            }
            Step::Named { name, id } => writer.add_named_ref(name, id).unwrap(),
        }
    }
    stream.extend(writer.write_batch(&inline, &lengths, &ids, &sizes).unwrap());
    writer.inline_chunk(&run).unwrap();
    let finished = writer.finish().unwrap();
    let mut file = finished.prefix;
    file.extend(stream);
    file.extend(finished.tail);
    assert_eq!(file.len() as u64, finished.file_size);
    file
}

/// What a reader gets back from a file.
pub(super) struct Decoded {
    pub header: Header,
    pub info: Info,
    pub object_refs: Vec<Vec<u8>>,
    pub stream_refs: Vec<Vec<u8>>,
    pub named: Vec<NamedRef>,
    /// Inline data and external indexes, with adjacent inline events joined.
    pub chunks: Vec<Result<Vec<u8>, u32>>,
}

pub(super) fn range(file: &[u8], r: FileRange) -> &[u8] {
    &file[r.start as usize..r.end as usize]
}

/// Reads `file` as the host does; the stream is fed `feed` bytes at a time.
pub(super) fn read_file(file: &[u8], feed: usize) -> Result<Decoded, Error> {
    let size = file.len() as u64;
    let header = parse_header(&file[..file.len().min(HEADER_SIZE)], size, None)?;
    let info = parse_info(&header, range(file, header.info), size, None)?;
    let ds = header.algorithm.digest_size();
    let object_refs: Vec<Vec<u8>> = range(file, info.object_refs).chunks(ds).map(<[u8]>::to_vec).collect();
    let stream_refs: Vec<Vec<u8>> = range(file, info.stream_refs).chunks(ds).map(<[u8]>::to_vec).collect();
    let named = decode_named_refs(range(file, info.named_refs), stream_refs.len() as u64)?;
    let chunks = decode_stream(range(file, info.stream), object_refs.len() as u32, info.stream_size, feed)?;
    Ok(Decoded { header, info, object_refs, stream_refs, named, chunks })
}

pub(super) fn decode_stream(
    stream: &[u8],
    object_refs: u32,
    stream_size: u64,
    feed: usize,
) -> Result<Vec<Result<Vec<u8>, u32>>, Error> {
    let mut decoder = StreamDecoder::new(object_refs, stream_size)?;
    let mut pieces = stream.chunks(feed.max(1));
    let mut chunks: Vec<Result<Vec<u8>, u32>> = Vec::new();
    loop {
        match decoder.next_event()? {
            Event::Inline(data) => {
                assert!(!data.is_empty() && data.len() <= EVENT_MAX_INLINE);
                match chunks.last_mut() {
                    Some(Ok(run)) => run.extend(data),
                    _ => chunks.push(Ok(data)),
                }
            }
            Event::External(i) => chunks.push(Err(i)),
            Event::NeedInput => match pieces.next() {
                Some(p) => decoder.feed(p)?,
                None => decoder.end_input(),
            },
            Event::End => return Ok(chunks),
        }
    }
}
