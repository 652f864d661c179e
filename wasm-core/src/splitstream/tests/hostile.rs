//! Malformed, truncated and hostile input: every case must end in an error
//! that says what is wrong, never a panic, a hang or a huge allocation.

use super::*;
use std::io::Write;
use zstd::stream::raw::CParameter;

const INFO: usize = HEADER_SIZE;

/// A small valid sha512 file: inline, two externals (one repeated), named refs.
fn sample() -> Vec<u8> {
    let alg = HashAlgorithm::Sha512;
    let obj = |seed| {
        let content = pattern(seed, 1000);
        Step::External { id: verity(alg, &content), content }
    };
    let steps = vec![
        Step::Inline(pattern(1, 600)),
        obj(2),
        Step::Inline(pattern(3, 100)),
        obj(4),
        obj(2),
        Step::Named { name: "b".into(), id: vec![7; 64] },
        Step::Named { name: "a".into(), id: vec![8; 64] },
        Step::Inline(b"end".to_vec()),
    ];
    write_file(alg, content_type::OCI_LAYER, &steps, 1 << 20)
}

fn set_u64(file: &mut [u8], at: usize, value: u64) {
    file[at..at + 8].copy_from_slice(&value.to_le_bytes());
}

fn get_u64(file: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(file[at..at + 8].try_into().unwrap())
}

/// Offsets of the info fields in a current-layout file.
const STREAM_REFS: usize = INFO;
const OBJECT_REFS: usize = INFO + 16;
const STREAM: usize = INFO + 32;
const NAMED_REFS: usize = INFO + 48;
const CONTENT_TYPE: usize = INFO + 64;
const STREAM_SIZE: usize = INFO + 72;

#[track_caller]
fn expect_error<T: std::fmt::Debug>(result: Result<T, Error>, fragment: &str) {
    match result {
        Ok(v) => panic!("expected an error containing {fragment:?}, got {v:?}"),
        Err(e) => assert!(e.message().contains(fragment), "error {:?} lacks {fragment:?}", e.message()),
    }
}

#[track_caller]
fn file_error(file: &[u8], fragment: &str) {
    expect_error(read_file(file, 4096).map(|_| ()), fragment);
}

#[test]
fn the_sample_is_valid() {
    let d = read_file(&sample(), 4096).unwrap();
    assert_eq!(d.object_refs.len(), 2);
    assert_eq!(d.named.len(), 2);
}

#[test]
fn bad_headers() {
    let good = sample();
    let size = good.len() as u64;
    file_error(&good[..20], "is 20 bytes, too short for the 32-byte header");
    expect_error(parse_header(&good[..20], size, None), "too short");

    let mut f = good.clone();
    f[0] = b's';
    file_error(&f, "not a splitstream (no \"SplitStream\" magic at offset 0 or 18)");
    let mut f = good.clone();
    f[11] = 1;
    file_error(&f, "splitstream version 1 is not supported");
    let mut f = good.clone();
    f[14] = 3;
    file_error(&f, "unknown fs-verity algorithm 3");
    expect_error(parse_header(&good, size, Some(HashAlgorithm::Sha256)), "uses sha512 object IDs, expected sha256");
    let mut f = good.clone();
    f[15] = 16;
    file_error(&f, "block size 2^16 is not supported (only 2^12)");
}

#[test]
fn bad_info_ranges_in_the_header() {
    let good = sample();
    let size = good.len();
    let with_info = |start: u64, end: u64| {
        let mut f = good.clone();
        set_u64(&mut f, 16, start);
        set_u64(&mut f, 24, end);
        f
    };
    file_error(&with_info(112, 32), "info range 112..32 is inverted");
    file_error(&with_info(32, size as u64 + 1), &format!("info range 32..{} runs past the end of the {size}-byte file", size + 1));
    file_error(&with_info(32, 72), "info range 32..72 is 40 bytes, shorter than the 80-byte info section");
    file_error(&with_info(0, 80), "info range 0..80 overlaps the 32-byte header");
    file_error(&with_info(u64::MAX - 10, u64::MAX), "runs past the end");
    let mut big = good.clone();
    big.resize(100_000, 0);
    set_u64(&mut big, 24, 32 + INFO_MAX_SIZE + 1);
    file_error(&big, "is 65537 bytes, more than the 65536 accepted");
}

#[test]
fn bad_info_sections() {
    let good = sample();
    let size = good.len() as u64;
    let patched = |at: usize, value: u64| {
        let mut f = good.clone();
        set_u64(&mut f, at, value);
        f
    };
    file_error(&patched(OBJECT_REFS + 8, size + 100), &format!("object_refs range 240..{} runs past the end", size + 100));
    let stream_start = get_u64(&good, STREAM);
    file_error(&patched(STREAM + 8, stream_start - 1), "stream range");
    file_error(&patched(STREAM + 8, stream_start - 1), "is inverted");
    // object_refs 240..368 (two sha512 digests); end it 3 bytes early.
    file_error(&patched(OBJECT_REFS + 8, 365), "object_refs range 240..365 (125 bytes) is not a multiple of 64 bytes");
    file_error(&patched(STREAM_REFS, 48), "stream_refs range 48..240 overlaps the info range 32..112");
    file_error(&patched(NAMED_REFS + 8, stream_start + 5), "stream range");
    file_error(&patched(NAMED_REFS + 8, stream_start + 5), "overlaps the named_refs range");

    let header = parse_header(&good, size, None).unwrap();
    let info_bytes = &good[32..112];
    expect_error(
        parse_info(&header, info_bytes, size, Some(content_type::OCI_CONFIG)),
        "content type is 0x726579616c69636f (\"ocilayer\"), expected 0x67666e6f6369636f (\"ociconfg\")",
    );
    expect_error(parse_info(&header, &info_bytes[..79], size, None), "info section is 79 bytes, but its range 32..112 says 80");
    assert_eq!(get_u64(&good, CONTENT_TYPE), content_type::OCI_LAYER);
}

fn compress(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

#[test]
fn bad_named_refs() {
    expect_error(decode_named_refs(b"definitely not zstd", 3), "splitstream named refs: corrupt or unsupported zstd data");
    let good = compress(b"0:a\x001:b\x00");
    assert_eq!(decode_named_refs(&good, 2).unwrap().len(), 2);
    expect_error(decode_named_refs(&good[..good.len() - 2], 2), "zstd data is truncated");
    expect_error(decode_named_refs(&compress(b"0:a\x00junk"), 2), "4 bytes of junk after the last record");
    expect_error(decode_named_refs(&compress(b"0:\xff\xfe\x00"), 2), "named ref 0 is not valid UTF-8");
    expect_error(decode_named_refs(&compress(b"0:a\x00abc\x00"), 2), "named ref 1 (\"abc\") has no ':'");
    for bad in ["x", "+1", "", "-0", "18446744073709551616"] {
        let record = format!("{bad}:name\0");
        expect_error(decode_named_refs(&compress(record.as_bytes()), 2), &format!("index {bad:?}, not a decimal number"));
    }
    expect_error(decode_named_refs(&compress(b"5:a\x00"), 2), "\"a\" points at stream ref 5, but there are only 2");
    expect_error(decode_named_refs(&compress(b"0:a\x001:a\x00"), 2), "\"a\" appears twice");
    // A bomb: 17 MiB of zeros compress to a few hundred bytes.
    let bomb = compress(&vec![0; 17 << 20]);
    assert!(bomb.len() < 4096);
    expect_error(decode_named_refs(&bomb, 2), "decompress to more than 16777216 bytes");
    assert_eq!(decode_named_refs(&[], 0).unwrap(), vec![]);
    assert_eq!(decode_named_refs(&compress(b""), 0).unwrap(), vec![]);
    // A frame asking for a 128 MiB window is refused before allocating it.
    expect_error(decode_named_refs(&huge_window_frame(b"0:a\0"), 1), "Frame requires too much memory");
}

fn huge_window_frame(data: &[u8]) -> Vec<u8> {
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    enc.set_parameter(CParameter::WindowLog(27)).unwrap();
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// A stream section holding these raw chunk bytes.
fn stream_of(chunks: &[&[u8]]) -> Vec<u8> {
    compress(&chunks.concat())
}

#[test]
fn bad_streams() {
    let inline = |n: i64| (-n).to_le_bytes();
    let ext = |i: i64| i.to_le_bytes();
    let ok = stream_of(&[&inline(3), b"abc", &ext(0), &ext(1)]);
    assert_eq!(decode_stream(&ok, 2, 3, 5).unwrap(), vec![Ok(b"abc".to_vec()), Err(0), Err(1)]);

    let s = stream_of(&[&i64::MIN.to_le_bytes()]);
    expect_error(decode_stream(&s, 2, 1000, 64), "inline chunk of 9223372036854775808 bytes at decompressed offset 0 exceeds the 1000 bytes left");
    let s = stream_of(&[&inline(3), b"abc", &inline(10), b"0123456789"]);
    expect_error(decode_stream(&s, 0, 12, 64), "inline chunk of 10 bytes at decompressed offset 11 exceeds the 9 bytes left of the stream size 12");
    let s = stream_of(&[&ext(0), &ext(2)]);
    expect_error(decode_stream(&s, 2, 0, 64), "external chunk at decompressed offset 8 refers to object 2, but there are only 2 object refs");
    let s = stream_of(&[&ext(i64::MAX)]);
    expect_error(decode_stream(&s, 2, 0, 64), "refers to object 9223372036854775807");

    expect_error(decode_stream(&ok[..ok.len() - 3], 2, 3, 5), "zstd data is truncated");
    expect_error(decode_stream(b"\x00\x01garbage, not zstd at all", 2, 3, 5), "corrupt or unsupported zstd data near compressed byte 0");
    let mut trailing = ok.clone();
    trailing.extend_from_slice(b"trailing garbage");
    expect_error(decode_stream(&trailing, 2, 3, 5), &format!("corrupt or unsupported zstd data near compressed byte {}", ok.len()));
    expect_error(decode_stream(&stream_of(&[&inline(3), b"abc", &[1, 2, 3, 4]]), 2, 3, 64), "ends inside a chunk header (4 of 8 bytes at decompressed offset 11)");
    expect_error(decode_stream(&stream_of(&[&inline(100), b"0123456789"]), 2, 100, 64), "ends with 90 bytes of an inline chunk missing");
    expect_error(decode_stream(&huge_window_frame(&ext(0)), 2, 0, 64), "Frame requires too much memory");

    // Concatenated frames are one stream; an empty section is an empty stream.
    let mut two = stream_of(&[&inline(3), b"abc"]);
    two.extend(stream_of(&[&ext(1)]));
    assert_eq!(decode_stream(&two, 2, 3, 7).unwrap(), vec![Ok(b"abc".to_vec()), Err(1)]);
    assert_eq!(decode_stream(&[], 0, 0, 7).unwrap(), vec![]);

    let mut d = StreamDecoder::new(0, 0).unwrap();
    d.end_input();
    expect_error(d.feed(b"x"), "input fed after its end was announced");
}

#[test]
fn hostile_streams_inside_whole_files() {
    // A sample whose stream claims fewer bytes than its inline chunks hold.
    let mut f = sample();
    set_u64(&mut f, STREAM_SIZE, 500);
    file_error(&f, "inline chunk of 600 bytes at decompressed offset 0 exceeds the 500 bytes left");
    // Fewer object refs than the stream uses: cut object_refs to one digest.
    let mut f = sample();
    let start = get_u64(&f, OBJECT_REFS);
    set_u64(&mut f, OBJECT_REFS + 8, start + 64);
    file_error(&f, "refers to object 1, but there are only 1 object refs");
}

#[test]
fn writer_misuse() {
    let mut w = Writer::new(HashAlgorithm::Sha256, 0).unwrap();
    expect_error(w.begin_inline(0), "an inline chunk cannot be empty");
    expect_error(w.begin_inline(u64::MAX), "is too large");
    expect_error(w.external(&[0; 64], 1), "object ID is 64 bytes, expected a 32-byte sha256 digest");
    expect_error(w.add_named_ref("a\0b", &[0; 32]), "contains a NUL byte");
    expect_error(w.add_named_ref("a", &[0; 31]), "stream ID is 31 bytes");
    w.begin_inline(4).unwrap();
    expect_error(w.inline_data(b"12345"), "5 inline bytes given, but the inline chunk expects only 4 more");
    w.inline_data(b"12").unwrap();
    expect_error(w.external(&[0; 32], 1), "an external reference came while the inline chunk still expects 2 bytes");
    expect_error(w.begin_inline(1), "a new inline chunk began while");
    let mut w2 = Writer::new(HashAlgorithm::Sha256, 0).unwrap();
    w2.external(&[0; 32], u64::MAX).unwrap();
    expect_error(w2.external(&[0; 32], 1), "stream size overflows 64 bits");
    expect_error(w.finish().map(|_| ()), "the stream was finished while the inline chunk still expects 2 bytes");
}

#[test]
fn memory_stays_bounded_over_a_large_inline_run() {
    // 48 MiB of barely compressible data in one chunk: the writer's pending
    // output never exceeds what one 1 MiB piece produces, and decoding hands
    // it back in events of at most EVENT_MAX_INLINE bytes.
    const TOTAL: usize = 48 << 20;
    let piece: Vec<u8> = (0..1 << 20).map(|i: u32| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    let mut w = Writer::new(HashAlgorithm::Sha512, 0).unwrap();
    w.begin_inline(TOTAL as u64).unwrap();
    let mut stream = Vec::new();
    let mut peak = 0;
    for _ in 0..TOTAL / piece.len() {
        w.inline_data(&piece).unwrap();
        peak = peak.max(w.pending_output());
        stream.extend(w.take_output());
    }
    assert!(peak <= (piece.len() + (256 << 10)), "pending output peaked at {peak} bytes");
    let finished = w.finish().unwrap();
    stream.extend(finished.tail);
    let mut d = StreamDecoder::new(0, TOTAL as u64).unwrap();
    let mut fed = stream.chunks(64 << 10);
    let mut total = 0;
    loop {
        match d.next_event().unwrap() {
            Event::Inline(data) => {
                assert!(data.len() <= EVENT_MAX_INLINE);
                total += data.len();
            }
            Event::NeedInput => match fed.next() {
                Some(p) => d.feed(p).unwrap(),
                None => d.end_input(),
            },
            Event::External(_) => unreachable!(),
            Event::End => break,
        }
    }
    assert_eq!(total, TOTAL);
    assert_eq!(d.inline_bytes(), TOTAL as u64);
}
