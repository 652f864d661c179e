//! What each fuzz target does with its input, shared by the cargo-fuzz
//! targets (`fuzz_targets/*.rs`, libFuzzer) and by the normal test binary
//! (`tests/fuzz_corpus.rs`, which runs the seeds, the regression inputs and
//! a bounded number of mutations through the same functions on every
//! `cargo test`). Each function must never panic, whatever the bytes; where
//! a format has an invariant (a split tar rejoins to its input, what the
//! writer makes the reader takes back), it is asserted too.
//!
//! Seeds come from the repository's test vectors, built in memory.

#![allow(dead_code)]

use cfskit_core::dumpfile::{parse_dumpfile, write_dumpfile};
use cfskit_core::erofs;
use cfskit_core::fsverity::HashAlgorithm;
use cfskit_core::oci::{apply_entry, ImageBuilder, LayerReader, Policy};
use cfskit_core::splitstream::{decode_named_refs, parse_header, parse_info, Event as StreamEvent, StreamDecoder};
use cfskit_core::tar::{Event as TarEvent, Splitter};
use cfskit_core::tarsplit::RecordReader;
use cfskit_core::tree::{Tree, XattrFilter};

/// Every EROFS format the writer makes (V0 and V1 share a layout, V2 is
/// composefs-rs 0.9's default).
const VERSIONS: [erofs::FormatVersion; 3] = [erofs::FormatVersion::V0, erofs::FormatVersion::V1, erofs::FormatVersion::V2];

/// A target: its name and what it does with one input.
pub type Target = (&'static str, fn(&[u8]));

pub const TARGETS: &[Target] = &[
    ("erofs_reader", erofs_reader),
    ("splitstream", splitstream),
    ("tarsplit", tarsplit),
    ("tar", tar),
    ("dumpfile", dumpfile),
    ("oci_layer", oci_layer),
    ("oci_apply", oci_apply),
    ("selabel", selabel),
];

/// The EROFS reader, and what is made of a tree it accepts: a dumpfile,
/// an image again — which the reader must take back.
pub fn erofs_reader(data: &[u8]) {
    let Ok(image) = erofs::read_image(data, None) else { return };
    let _ = write_dumpfile(&image.tree);
    check_writer_reader(&image.tree);
}

/// What cfskit writes, cfskit reads: an image the writer makes, in every
/// format, is one the reader accepts.
fn check_writer_reader(tree: &Tree) {
    for version in VERSIONS {
        if let Ok(bytes) = erofs::write(tree, version) {
            if let Err(e) = erofs::read_image(&bytes, Some(tree.algorithm())) {
                panic!("the reader refuses a {version:?} image the writer made: {e}");
            }
        }
    }
}

/// A splitstream file: header, info, named refs, then the stream section
/// decoded to its end.
pub fn splitstream(data: &[u8]) {
    let size = data.len() as u64;
    let Ok(header) = parse_header(&data[..data.len().min(32)], size, None) else { return };
    let (start, end) = (header.info.start as usize, header.info.end as usize);
    let Ok(info) = parse_info(&header, &data[start..end], size, None) else { return };
    let algorithm = header.algorithm;
    let named = &data[info.named_refs.start as usize..info.named_refs.end as usize];
    let _ = decode_named_refs(named, info.stream_ref_count(algorithm));
    let Ok(refs) = u32::try_from(info.object_ref_count(algorithm)) else { return };
    let Ok(mut decoder) = StreamDecoder::new(refs, info.stream_size) else { return };
    let stream = &data[info.stream.start as usize..info.stream.end as usize];
    // Fed in pieces of a size taken from the input, as a host reads.
    let piece = 1 + usize::from(data.first().copied().unwrap_or(0)) * 7;
    let mut chunks = stream.chunks(piece);
    for _ in 0..1_000_000 {
        match decoder.next_event() {
            Ok(StreamEvent::NeedInput) => match chunks.next() {
                Some(c) => {
                    if decoder.feed(c).is_err() {
                        return;
                    }
                }
                None => decoder.end_input(),
            },
            Ok(StreamEvent::End) | Err(_) => return,
            Ok(_) => {}
        }
    }
    panic!("the stream decoder made a million events without ending");
}

/// tar-split NDJSON, pushed in two pieces split where the first byte says.
pub fn tarsplit(data: &[u8]) {
    let mut reader = RecordReader::new();
    let cut = usize::from(data.first().copied().unwrap_or(0)) % (data.len() + 1);
    if reader.push(&data[..cut]).is_err() || reader.push(&data[cut..]).is_err() {
        return;
    }
    let _ = reader.finish();
}

/// A tar through the splitter: where it is accepted, inline bytes and
/// content ranges in order rejoin to the input exactly.
pub fn tar(data: &[u8]) {
    let mut splitter = Splitter::new();
    let mut rejoined = Vec::with_capacity(data.len());
    let piece = 1 + usize::from(data.first().copied().unwrap_or(0)) * 13;
    for chunk in data.chunks(piece) {
        let Ok(events) = splitter.push(chunk) else { return };
        for event in events {
            match event {
                TarEvent::Inline(bytes) => rejoined.extend_from_slice(&bytes),
                TarEvent::Content { start, len } => rejoined.extend_from_slice(&chunk[start..start + len]),
                TarEvent::Entry(_) | TarEvent::End => {}
            }
        }
    }
    if splitter.finish().is_ok() {
        assert!(rejoined == data, "the split tar does not rejoin to its input");
    }
}

/// A dumpfile: one it accepts writes back to one that parses to the same
/// tree, and its image is one the reader takes.
pub fn dumpfile(data: &[u8]) {
    let Ok(tree) = parse_dumpfile(data, HashAlgorithm::Sha256) else { return };
    let text = write_dumpfile(&tree);
    let again = parse_dumpfile(&text, HashAlgorithm::Sha256).unwrap_or_else(|e| panic!("a dumpfile cfskit wrote does not parse: {e}"));
    assert!(write_dumpfile(&again) == text, "a dumpfile does not survive a round trip");
    check_writer_reader(&tree);
}

/// A layer stream's inline bytes, read as composefs-rs reads layer members.
pub fn oci_layer(data: &[u8]) {
    let mut reader = LayerReader::new(HashAlgorithm::Sha256);
    let piece = 1 + usize::from(data.first().copied().unwrap_or(0)) * 11;
    for chunk in data.chunks(piece) {
        if reader.inline(chunk).is_err() {
            return;
        }
    }
    let _ = reader.finish();
}

/// A layer applied into a tree as an image is built from its layers
/// (whiteouts, hard links, parents, then the checks and the container
/// transform), and the image of that tree, which the reader must take back.
/// Entries applied without the final checks must not make an image either.
pub fn oci_apply(data: &[u8]) {
    let mut raw = Tree::new(HashAlgorithm::Sha256);
    if let Ok(entries) = LayerReader::new(HashAlgorithm::Sha256).inline(data) {
        for entry in &entries {
            if apply_entry(&mut raw, entry).is_err() {
                break;
            }
        }
        check_writer_reader(&raw);
    }
    let mut builder = ImageBuilder::new(HashAlgorithm::Sha256);
    if builder.inline(data).is_err() || builder.end_layer().is_err() {
        return;
    }
    // Both xattr modes, chosen by the input so each is reached.
    let filter = if data.len().is_multiple_of(2) { XattrFilter::AllowlistOnly } else { XattrFilter::KeepUserXattrs };
    let Ok(tree) = builder.finish(filter) else { return };
    check_writer_reader(&tree);
}

/// SELinux file_contexts as the boot transformation reads them, and a few lookups.
pub fn selabel(data: &[u8]) {
    let files = |name: &str| (name == "file_contexts").then_some(data);
    let Ok(mut policy) = Policy::build(&files) else { return };
    for path in [&b"/"[..], b"/usr/bin/sh", b"/etc/passwd", b"/var/lib/x"] {
        let _ = policy.lookup(path, b'0');
    }
}

// ---- seeds, from the test vectors ----

fn vectors() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../test/vectors")
}

fn files(dir: &str, suffix: &str) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(vectors().join(dir)) else { return Vec::new() };
    let mut paths: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.to_string_lossy().ends_with(suffix)).collect();
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// A ustar header block (and content) for `name`.
fn member(out: &mut Vec<u8>, name: &[u8], typeflag: u8, data: &[u8], pax: Option<&[u8]>) {
    if let Some(records) = pax {
        member(out, b"PaxHeaders/x", b'x', records, None);
    }
    let mut h = [0u8; 512];
    h[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
    let octal = |field: &mut [u8], v: u64| {
        let s = format!("{:0width$o}\0", v, width = field.len() - 1);
        field.copy_from_slice(s.as_bytes());
    };
    octal(&mut h[100..108], if typeflag == b'5' { 0o755 } else { 0o644 });
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], data.len() as u64);
    octal(&mut h[136..148], 1_700_000_000);
    h[156] = typeflag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].fill(b' ');
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(data);
    out.resize(out.len().div_ceil(512) * 512, 0);
}

fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let body = format!(" {key}={value}\n");
    let mut n = body.len() + 1;
    while format!("{n}{body}").len() != n {
        n += 1;
    }
    format!("{n}{body}").into_bytes()
}

/// Small layer tars: every member type, PAX records, a whiteout, a hard link.
fn tars() -> Vec<Vec<u8>> {
    let mut simple = Vec::new();
    member(&mut simple, b"usr/", b'5', b"", None);
    member(&mut simple, b"usr/small", b'0', b"tiny", None);
    member(&mut simple, b"usr/large", b'0', &[7u8; 700], None);
    simple.extend_from_slice(&[0u8; 1024]);
    let mut rich = Vec::new();
    member(&mut rich, b"./", b'5', b"", None);
    member(&mut rich, b"usr/", b'5', b"", None);
    member(&mut rich, b"usr/lib/", b'5', b"", None);
    let mut records = pax_record("path", &format!("usr/lib/{}", "n".repeat(150)));
    records.extend(pax_record("SCHILY.xattr.user.k", "v"));
    records.extend(pax_record("mtime", "1700000000.5"));
    member(&mut rich, b"ignored", b'0', b"long name", Some(&records));
    member(&mut rich, b"usr/link", b'2', b"", None);
    member(&mut rich, b"usr/hard", b'1', b"", None);
    member(&mut rich, b"usr/lib/.wh.gone", b'0', b"", None);
    member(&mut rich, b"usr/fifo", b'6', b"", None);
    rich.extend_from_slice(&[0u8; 1024]);
    vec![simple, rich]
}

/// tar-split NDJSON for a tar: one segment record per header block.
fn tarsplit_of(tar: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut out = String::new();
    for (i, block) in tar.chunks(512).enumerate() {
        out.push_str(&format!("{{\"type\":2,\"payload\":\"{}\",\"position\":{i}}}\n", b64(block)));
    }
    out.push_str(&format!("{{\"type\":1,\"name\":\"./usr/small\",\"size\":4,\"payload\":\"{}\",\"position\":{}}}\n", b64(&[0u8; 8]), tar.len() / 512));
    out.into_bytes()
}

fn splitstreams() -> Vec<Vec<u8>> {
    use base64::Engine;
    files("splitstream", ".json")
        .iter()
        .filter_map(|json| {
            let doc: serde_json::Value = serde_json::from_slice(json).ok()?;
            base64::engine::general_purpose::STANDARD.decode(doc["file"]["base64"].as_str()?).ok()
        })
        .collect()
}

/// The seeds of `target`, built from the test vectors.
pub fn seeds(target: &str) -> Vec<Vec<u8>> {
    let dumps = || files("erofs", ".dump").into_iter().chain(files("oci", ".dump"));
    match target {
        "erofs_reader" => dumps()
            .filter_map(|d| parse_dumpfile(&d, HashAlgorithm::Sha512).ok())
            .flat_map(|t| VERSIONS.into_iter().filter_map(move |v| erofs::write(&t, v).ok()))
            .collect(),
        "dumpfile" => dumps().collect(),
        "splitstream" => splitstreams(),
        "tar" | "oci_layer" | "oci_apply" => tars(),
        "tarsplit" => tars().iter().map(|t| tarsplit_of(t)).collect(),
        "selabel" => vec![
            b"/.*  system_u:object_r:default_t:s0\n/usr(/.*)?  system_u:object_r:usr_t:s0\n/usr/bin/.*  -- system_u:object_r:bin_t:s0\n".to_vec(),
            b"# comment\n\n/etc(/.*)?\tsystem_u:object_r:etc_t:s0\n/var/lib/[^/]+  <<none>>\n".to_vec(),
        ],
        _ => Vec::new(),
    }
}
