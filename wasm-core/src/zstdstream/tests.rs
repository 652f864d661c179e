use super::*;

fn drain(stream: &mut ZstdStream, piece: usize) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    loop {
        let chunk = stream.read(piece)?;
        if chunk.is_empty() {
            return Ok(out);
        }
        assert!(chunk.len() <= piece);
        out.extend_from_slice(&chunk);
    }
}

/// Feeds `compressed` in pieces of `feed` bytes, reading in pieces of `read`.
fn decode(compressed: &[u8], feed: usize, read: usize) -> Result<Vec<u8>, Error> {
    let mut stream = ZstdStream::new()?;
    let mut out = Vec::new();
    for piece in compressed.chunks(feed) {
        stream.feed(piece);
        out.extend(drain(&mut stream, read)?);
    }
    stream.finish()?;
    assert_eq!(stream.produced(), out.len() as u64);
    assert_eq!(stream.consumed(), compressed.len() as u64);
    Ok(out)
}

fn sample(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|i| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            // Compressible: runs and a small alphabet.
            if i % 97 < 40 { b'a' } else { (x >> 24) as u8 % 16 }
        })
        .collect()
}

/// A skippable frame (magic 0x184D2A50..5F) holding `payload`.
fn skippable(payload: &[u8]) -> Vec<u8> {
    let mut frame = 0x184D_2A5Eu32.to_le_bytes().to_vec();
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(payload);
    frame
}

#[test]
fn one_frame_in_any_pieces() {
    let data = sample(300_000, 1);
    let compressed = zstd::stream::encode_all(&data[..], 3).unwrap();
    for (feed, read) in [(1, 7), (13, 4096), (compressed.len(), 1 << 20), (4096, 1)] {
        assert_eq!(decode(&compressed, feed, read).unwrap(), data, "feed {feed} read {read}");
    }
}

#[test]
fn frames_back_to_back_with_skippable_frames_between() {
    // The shape of zstd:chunked: a frame per file or chunk, the table of
    // contents and the tar-split data in skippable frames, a footer frame.
    let parts = [sample(70_000, 2), sample(1, 3), sample(0, 4), sample(200_000, 5)];
    let mut compressed = skippable(b"leading");
    let mut expected = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        compressed.extend(zstd::stream::encode_all(&part[..], 1 + i as i32).unwrap());
        compressed.extend(skippable(&vec![i as u8; 100 * i]));
        expected.extend_from_slice(part);
    }
    for feed in [5, 4096, compressed.len()] {
        assert_eq!(decode(&compressed, feed, 65536).unwrap(), expected);
    }
}

#[test]
fn truncated_inside_a_frame_is_an_error() {
    let data = sample(100_000, 6);
    let compressed = zstd::stream::encode_all(&data[..], 3).unwrap();
    for cut in [1, 4, compressed.len() / 2, compressed.len() - 1] {
        let err = decode(&compressed[..cut], 1000, 65536).unwrap_err();
        assert!(err.message().starts_with("zstd data is truncated") || err.message().starts_with("corrupt"), "cut {cut}: {err}");
    }
    let mut stream = ZstdStream::new().unwrap();
    assert_eq!(stream.finish().unwrap_err().message(), "zstd data is empty (not even one frame)");
}

#[test]
fn corrupt_data_and_trailing_garbage_are_errors() {
    let data = sample(50_000, 7);
    let mut compressed = zstd::stream::encode_all(&data[..], 3).unwrap();
    let mut trailing = compressed.clone();
    trailing.extend_from_slice(b"not a frame");
    let err = decode(&trailing, 4096, 65536).unwrap_err();
    assert!(err.message().starts_with("corrupt or unsupported zstd data near compressed byte"), "{err}");
    // Damaged content without a checksum decodes to other bytes: the
    // blob digest and the diff_id catch that. A damaged frame header fails.
    compressed[0] ^= 0xff;
    assert!(decode(&compressed, 4096, 65536).unwrap_err().message().contains("Unknown frame descriptor"));
    // Once failed, always failed.
    let mut stream = ZstdStream::new().unwrap();
    stream.feed(b"garbage garbage");
    assert!(stream.read(100).is_err());
    assert!(stream.read(100).unwrap_err().message().contains("already found corrupt"));
    assert!(stream.finish().is_err());
}

#[test]
fn a_window_beyond_the_limit_is_refused() {
    let data = sample(1 << 16, 8);
    let mut encoder = zstd::stream::raw::Encoder::new(3).unwrap();
    encoder.set_parameter(zstd::stream::raw::CParameter::WindowLog(28)).unwrap();
    encoder.set_parameter(zstd::stream::raw::CParameter::EnableLongDistanceMatching(true)).unwrap();
    let mut compressed = vec![0u8; 1 << 17];
    let mut input = InBuffer::around(&data[..]);
    let mut output = OutBuffer::around(&mut compressed[..]);
    encoder.run(&mut input, &mut output).unwrap();
    encoder.finish(&mut output, true).unwrap();
    let len = output.pos();
    compressed.truncate(len);
    let err = decode(&compressed, 4096, 65536).unwrap_err();
    assert!(err.message().ends_with("Frame requires too much memory for decoding"), "{err}");
    assert_eq!(crate::error::CoreError::kind(&err), crate::error::ErrorKind::Limit);
}

#[test]
fn highly_compressed_input_comes_out_in_bounded_pieces() {
    let zeros = vec![0u8; 8 << 20];
    let compressed = zstd::stream::encode_all(&zeros[..], 19).unwrap();
    assert!(compressed.len() < 4096);
    let mut stream = ZstdStream::new().unwrap();
    stream.feed(&compressed);
    let first = stream.read(65536).unwrap();
    assert_eq!(first.len(), 65536);
    let mut total = first.len() as u64;
    while !stream.read(1 << 20).unwrap().is_empty() {
        total = stream.produced();
    }
    assert_eq!(total, zeros.len() as u64);
    stream.finish().unwrap();
}

