//! Absurd sizes and counts, and layer streams cut short: refused with the
//! member (or the byte offset) and the problem named, or, where
//! composefs-rs accepts the same stream, accepted — never a panic, and
//! never memory that grows with what a header claims rather than with the
//! bytes actually fed.

use crate::tree::XattrFilter;
use crate::error::{CoreError, ErrorKind};
use super::layer::read;
use super::{build, header, line, object, Chunk, Layer};
use crate::dumpfile::write_dumpfile;
use crate::erofs;
use crate::oci::{ImageBuilder, LayerReader};
use crate::tree::MAX_EXTERNAL_SIZE;

/// A PAX extended header holding exactly `data`, well formed or not.
fn raw_pax(l: &mut Layer, data: &[u8]) {
    l.inline(&header(b"PaxHeader", b'x', data.len() as u64, b"", 0o644)).inline(data).padding(data.len());
}

/// A file whose size comes from a PAX record and whose content is object 9.
fn claimed(l: &mut Layer, name: &str, size: &str) {
    l.pax(&[("size", size.as_bytes())]).inline(&header(name.as_bytes(), b'0', 0, b"", 0o644));
    l.chunks.push(Chunk::External(object(9)));
    let pad = (512 - size.parse::<u64>().unwrap() % 512) % 512;
    l.inline(&vec![0; pad as usize]);
}

#[test]
fn a_huge_size_for_an_object_is_the_headers_up_to_what_an_image_can_hold() {
    // composefs-rs takes the size from the tar header and never looks at
    // the object: the image says what the layer said.
    let mut l = Layer::default();
    l.dir("usr/");
    claimed(&mut l, "usr/tera", "1099511627776");
    claimed(&mut l, "usr/limit", &MAX_EXTERNAL_SIZE.to_string());
    l.end();
    let tree = build(&[&l]).unwrap();
    assert!(line(&tree, "/usr/tera").starts_with("/usr/tera 1099511627776 100644 1 "));
    let image = erofs::write(&tree, erofs::FormatVersion::V2).unwrap();
    let back = erofs::read_image(&image, Some(super::ALG)).unwrap().tree;
    assert_eq!(write_dumpfile(&back), write_dumpfile(&tree));
    // Beyond one 2^43-byte chunk composefs-rs writes an image that no
    // reader accepts; here the member is refused instead.
    let mut l = Layer::default();
    l.dir("usr/");
    claimed(&mut l, "usr/max", &i64::MAX.to_string());
    l.end();
    let err = build(&[&l]).unwrap_err();
    assert_eq!(err.to_string(), format!("/usr/max: a {}-byte file is larger than the {MAX_EXTERNAL_SIZE} bytes an image can describe", i64::MAX));
    assert_eq!(err.kind(), ErrorKind::Limit);
}

#[test]
fn a_huge_size_with_inline_content_is_refused_before_collecting_it() {
    let mut l = Layer::default();
    l.dir("usr/").pax(&[("size", b"1099511627776")]).inline(&header(b"usr/huge", b'0', 0, b"", 0o644));
    l.inline(&[7; 4096]);
    let err = read(&l, 512).unwrap_err();
    assert!(err.contains("tar entry 1 (usr/huge): a 1099511627776-byte file is stored inline"), "{err}");
    // Cut short right after the header instead.
    let mut l = Layer::default();
    l.pax(&[("size", b"1099511627776")]).inline(&header(b"usr/huge", b'0', 0, b"", 0o644));
    assert!(read(&l, 512).unwrap_err().contains("tar entry 0 (usr/huge): the stream ends before its content"));
    // A negative or unparsable size.
    for size in [&b"-1"[..], b"1e9", b"99999999999999999999"] {
        let mut l = Layer::default();
        l.pax(&[("size", size)]).inline(&header(b"usr/f", b'0', 0, b"", 0o644)).end();
        let err = read(&l, 512).unwrap_err();
        assert!(err.starts_with("tar entry 0 (usr/f) at byte 1024: "), "{err}");
    }
}

#[test]
fn pax_headers_over_a_mebibyte_or_with_lying_lengths_are_refused() {
    let mut l = Layer::default();
    l.inline(&header(b"PaxHeader", b'x', (1 << 20) + 1, b"", 0o644));
    assert!(read(&l, 512).unwrap_err().contains("PAX header of 1048577 bytes exceeds the limit of 1048576 bytes"));
    let mut l = Layer::default();
    l.inline(&header(b"././@LongLink", b'L', 1 << 30, b"", 0o644));
    assert!(read(&l, 512).unwrap_err().contains("GNU long name of 1073741824 bytes exceeds the limit"));
    for (data, problem) in [
        (&b"99999999999 path=x\n"[..], "has length 99999999999, outside its 19 bytes"),
        (b"9999999999999999999999 path=x\n", "has no valid length"),
        (b"3 x\n", "has length 3, outside"),
        (b"12 path=abc", "outside its 11 bytes"),
    ] {
        let mut l = Layer::default();
        raw_pax(&mut l, data);
        l.file("f", b"").end();
        let err = read(&l, 512).unwrap_err();
        assert!(err.starts_with("tar header at byte 512: PAX record 0 ") && err.contains(problem), "{err}");
    }
}

#[test]
fn many_pax_records_cost_only_their_bytes_and_limits_apply_to_what_remains() {
    // Some 30 000 xattrs in one mebibyte: read, then, kept by the xattr
    // filter, refused at the end naming the file, because no EROFS inode
    // holds that many; the default filter drops them all first.
    let names: Vec<String> = (0..30_000).map(|i| format!("SCHILY.xattr.user.{i}")).collect();
    let records: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    let mut l = Layer::default();
    l.dir("usr/").pax(&records).file("usr/f", b"").end();
    let err = super::build_filtered(&[&l], crate::tree::XattrFilter::KeepUserXattrs).unwrap_err();
    assert!(err.starts_with("/usr/f: ") && err.contains("bytes of xattrs exceed"), "{err}");
    assert!(!super::line(&build(&[&l]).unwrap(), "/usr/f").contains("user."));
    // Repeated keys: the last one counts, as in Go's reader.
    let mut l = Layer::default();
    let repeated: Vec<(&str, &[u8])> = (0..20_000).map(|_| ("path", &b"usr/x"[..])).chain([("path", &b"usr/last"[..])]).collect();
    l.dir("usr/").pax(&repeated).file("ignored", b"").end();
    assert_eq!(super::paths(&build(&[&l]).unwrap()), ["/", "/usr", "/usr/last"]);
}

#[test]
fn very_long_names_are_refused_naming_them() {
    // A 300-byte component (EROFS names are at most 255 bytes).
    let long = format!("usr/{}", "n".repeat(300));
    let mut l = Layer::default();
    l.dir("usr/").pax(&[("path", long.as_bytes())]).file("x", b"").end();
    let err = build(&[&l]).unwrap_err();
    assert_eq!(err.to_string(), format!("/{long}: name longer than 255 bytes"));
    assert_eq!(err.kind(), ErrorKind::Malformed);
    // A path of half a million components stops at the first missing one.
    let deep = "d/".repeat(500_000);
    let mut l = Layer::default();
    l.dir("usr/").pax(&[("path", deep.as_bytes())]).file("x", b"").end();
    assert!(build(&[&l]).unwrap_err().contains("Directory entry \"d\" does not exist"));
}

#[test]
fn truncated_layers_fail_naming_where_as_composefs_rs_does() {
    type Cut = fn(&mut Layer);
    let cases: [(Cut, &str); 5] = [
        (|l| { l.inline(&header(b"usr/f", b'0', 0, b"", 0o644)[..300]); }, "the archive ends inside a header (300 of 512 bytes)"),
        (|l| { l.inline(&header(b"PaxHeader", b'x', 100, b"", 0o644)).inline(&[b'9'; 40]); }, "ends inside an extended header (40 of 100 bytes)"),
        (|l| { l.pax(&[("mtime", b"1")]); }, "ends after extended headers, without their member"),
        (|l| { l.inline(&header(b"usr/f", b'0', 10, b"", 0o644)).inline(b"0123456789"); }, "ends 502 bytes before the end of the padding"),
        (|l| { l.inline(&header(b"usr/f", b'0', 10, b"", 0o644)).inline(b"01234"); }, "tar entry 1 (usr/f): the stream ends before its content"),
    ];
    for (cut, problem) in cases {
        let mut l = Layer::default();
        l.dir("usr/");
        cut(&mut l);
        let err = build(&[&l]).unwrap_err();
        assert!(err.starts_with("layer 1: ") && err.contains(problem), "{err} / {problem}");
    }
    // At a member boundary, with or without one zero block, the layer is
    // over: composefs-rs stops reading at the end of the stream too.
    let mut l = Layer::default();
    l.dir("usr/").file("usr/f", b"f").inline(&[0; 512]);
    assert_eq!(super::paths(&build(&[&l]).unwrap()), ["/", "/usr", "/usr/f"]);
}

#[test]
fn object_references_that_do_not_fit_the_members_are_refused() {
    let mut l = Layer::default();
    l.dir("usr/");
    l.chunks.push(Chunk::External(object(1)));
    assert!(read(&l, 512).unwrap_err().contains("an object reference where a tar header is expected (after 1 entries)"));
    let mut l = Layer::default();
    l.inline(&header(b"usr/f", b'0', 100, b"", 0o644));
    l.chunks.push(Chunk::External(vec![1; 5]));
    assert!(read(&l, 512).unwrap_err().contains("object ID of 5 bytes in a 32-byte digest stream"));
    // Part of the content inline, the rest as an object.
    let mut l = Layer::default();
    l.inline(&header(b"usr/f", b'0', 100, b"", 0o644)).inline(&[1; 10]);
    l.chunks.push(Chunk::External(object(1)));
    assert!(read(&l, 512).unwrap_err().contains("a 100-byte file is stored inline"));
    // After a failure, the reader stays failed rather than resynchronising.
    let mut reader = LayerReader::new(super::ALG);
    assert!(reader.inline(&[0xff; 512]).is_err());
    assert!(reader.inline(&[0; 1024]).is_err());
    assert!(reader.finish().is_err());
}

#[test]
fn a_failed_builder_is_not_a_panic_whatever_is_called_next() {
    let mut b = ImageBuilder::new(super::ALG);
    assert!(b.inline(&[0xff; 512]).is_err());
    let _ = b.inline(&[0; 512]);
    let _ = b.external(&object(1));
    assert!(b.end_layer().is_err());
    assert!(b.finish(XattrFilter::AllowlistOnly).is_err());
    // A builder given nothing at all: no /usr.
    assert!(ImageBuilder::new(super::ALG).finish(XattrFilter::AllowlistOnly).unwrap_err().to_string().contains("/usr does not exist"));
    let mut l = Layer::default();
    l.dir("usr/").end();
    assert!(!write_dumpfile(&build(&[&l]).unwrap()).is_empty());
}

#[test]
fn a_compressed_section_whose_size_or_refs_lie_is_refused_naming_the_layer() {
    let mut l = Layer::default();
    l.dir("usr/").big("usr/big", 300, 1).end();
    let (refs, size, data) = super::apply::compressed(&l);
    // A stream size smaller than its inline chunks (the one object holds
    // 300 bytes). A larger one is not a lie the stream can show: object
    // sizes are only known by reading the objects, which building skips.
    let mut b = ImageBuilder::new(super::ALG);
    b.begin_layer(refs.clone(), size - 300 - 1).unwrap();
    let err = b.feed(&data).and_then(|_| b.end_layer()).unwrap_err();
    assert!(err.to_string().starts_with("layer 1: splitstream stream: inline chunk of "), "{err}");
    // The stream's recorded size is what the chunks contradict: integrity.
    assert_eq!(err.kind(), ErrorKind::Integrity);
    // An object index past the refs it was given.
    let mut b = ImageBuilder::new(super::ALG);
    b.begin_layer(Vec::new(), size).unwrap();
    let err = b.feed(&data).and_then(|_| b.end_layer()).unwrap_err();
    assert!(err.to_string().starts_with("layer 1: splitstream stream: "), "{err}");
    assert_eq!(err.kind(), ErrorKind::Malformed);
}
