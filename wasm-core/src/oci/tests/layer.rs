//! Reading members out of a layer stream.

use super::{header, object, Chunk, Layer, ALG};
use crate::oci::{dumpfile_line, Error, LayerEntry, LayerItem, LayerReader};
use crate::tar::Splitter;
use crate::tree::{LeafContent, ObjectId, RegularFile};

/// Every member, feeding inline runs in pieces of `piece` bytes.
pub fn read(layer: &Layer, piece: usize) -> Result<Vec<LayerEntry>, Error> {
    let mut reader = LayerReader::new(ALG);
    let mut out = Vec::new();
    for chunk in &layer.chunks {
        match chunk {
            Chunk::Inline(data) => {
                for p in data.chunks(piece) {
                    out.extend(reader.inline(p)?);
                }
            }
            Chunk::External(id) => out.extend(reader.external(id)?),
        }
    }
    reader.finish()?;
    Ok(out)
}

fn sample() -> Layer {
    let mut l = Layer::default();
    l.dir("./").dir("./usr/").file("./usr/small", b"tiny").big("./usr/big", 1000, 7);
    l.pax(&[("SCHILY.xattr.security.capability", b"\x01\x02"), ("SCHILY.xattr.user.a", b"x=y"), ("mtime", b"1700000001.75")]);
    l.file_mode("usr/capable", &[b'z'; 64], 0o4755);
    l.link("usr/hard", b'1', "./usr/big").link("usr/sym", b'2', "small").special("dev/fifo", b'6').special("dev/null", b'3');
    l.end();
    l
}

#[test]
fn members_come_out_whatever_the_chunking() {
    let whole = read(&sample(), usize::MAX).unwrap();
    for piece in [1, 7, 511, 512, 513, 4096] {
        assert_eq!(read(&sample(), piece).unwrap(), whole, "pieces of {piece}");
    }
    let paths: Vec<String> = whole.iter().map(|e| String::from_utf8_lossy(&e.path).into_owned()).collect();
    // composefs-rs keeps "./" as "/./" (its Path lookups skip the ".").
    assert_eq!(paths, ["/.", "/./usr", "/./usr/small", "/./usr/big", "/usr/capable", "/usr/hard", "/usr/sym", "/dev/fifo", "/dev/null"]);
    assert_eq!(whole[3].item, LayerItem::Leaf(LeafContent::Regular(RegularFile::External { id: ObjectId::new(&object(7)), size: 1000 })));
    assert_eq!(whole[5].item, LayerItem::Hardlink(b"/./usr/big".to_vec()));
    assert_eq!(whole[6].item, LayerItem::Leaf(LeafContent::Symlink((*b"small").into())));
    let capable = &whole[4];
    assert_eq!(capable.stat.mode, 0o4755);
    assert_eq!(capable.stat.mtime, 1_700_000_001, "PAX mtime: whole seconds");
    assert_eq!(capable.stat.xattrs.len(), 2);
}

#[test]
fn dumpfile_lines_are_composefs_rs_layer_listings() {
    let mut out = Vec::new();
    for e in read(&sample(), usize::MAX).unwrap() {
        dumpfile_line(&e, &mut out);
    }
    let id = "07".repeat(32);
    let expected = format!(
        "/. 0 40755 1 0 0 0 1700000000.0 - - -\n\
         /./usr 0 40755 1 0 0 0 1700000000.0 - - -\n\
         /./usr/small 4 100644 1 0 0 0 1700000000.0 - tiny -\n\
         /./usr/big 1000 100644 1 0 0 0 1700000000.0 07/{} - {id}\n\
         /usr/capable 64 104755 1 0 0 0 1700000001.750000000 - {} - security.capability=\\x01\\x02 user.a=x\\x3dy\n\
         /usr/hard 0 @120000 - - - - 0.0 /./usr/big - -\n\
         /usr/sym 5 120777 1 0 0 0 1700000000.0 small - -\n\
         /dev/fifo 0 10600 1 0 0 0 1700000000.0 - - -\n\
         /dev/null 0 20600 1 0 0 0 1700000000.0 - - -\n",
        &id[2..],
        "z".repeat(64),
    );
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[test]
fn misplaced_content_is_refused_as_composefs_rs_refuses_it() {
    // A 65-byte file kept inline, a 64-byte one stored as an object, a
    // symlink given an object, an object where a header belongs.
    let mut l = Layer::default();
    l.file("big-inline", &[1; 65]).end();
    assert!(read(&l, 512).unwrap_err().contains("65-byte file is stored inline"));
    let mut l = Layer::default();
    l.inline(&header(b"small-object", b'0', 64, b"", 0o644));
    l.chunks.push(Chunk::External(object(1)));
    assert!(read(&l, 512).unwrap_err().contains("64-byte file is stored as an object"));
    let mut l = Layer::default();
    l.dir("d/");
    l.chunks.push(Chunk::External(object(1)));
    assert!(read(&l, 512).unwrap_err().contains("where a tar header is expected"));
    let mut l = Layer::default();
    l.inline(&header(b"v", b'V', 0, b"", 0o644)).end();
    assert!(read(&l, 512).unwrap_err().contains("unsupported tar entry type 'V'"));
    let mut l = Layer::default();
    l.inline(&header(b"cut", b'0', 100, b"", 0o644));
    assert!(read(&l, 512).unwrap_err().contains("ends before its content"));
}

#[test]
fn whatever_follows_the_end_of_the_archive_is_ignored() {
    let mut l = Layer::default();
    l.file("a", b"1").end().inline(&[0xff; 512]);
    l.chunks.push(Chunk::External(object(3)));
    assert_eq!(read(&l, 100).unwrap().len(), 1);
}

#[test]
fn splitter_skips_supplied_content() {
    let mut s = Splitter::new();
    let head = header(b"f", b'0', 600, b"", 0o644);
    assert_eq!(s.push(&head).unwrap().len(), 2);
    assert_eq!(s.content_remaining(), 600);
    assert!(s.skip_content(601).is_err(), "more than remains");
    let mut s = Splitter::new();
    s.push(&head).unwrap();
    s.skip_content(600).unwrap();
    assert_eq!(s.content_remaining(), 0);
    s.push(&[0; 424]).unwrap();
    assert!(s.skip_content(1).is_err(), "no content expected at a header");
    let mut s = Splitter::new();
    s.push(&head).unwrap();
    s.skip_content(600).unwrap();
    s.push(&[0; 424 + 1024]).unwrap();
    s.finish().unwrap();
}
