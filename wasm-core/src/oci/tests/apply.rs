//! Applying layers into a tree: composefs-rs's `process_entry` rules.

use crate::tree::XattrFilter;
use super::{build, line, paths, Chunk, Layer, ALG};
use crate::dumpfile::write_dumpfile;
use crate::oci::ImageBuilder;

fn base() -> Layer {
    let mut l = Layer::default();
    l.dir("usr/").dir("usr/bin/").big("usr/bin/tool", 300, 1).link("usr/bin/alias", b'1', "usr/bin/tool");
    l.dir("etc/").file("etc/a", b"a").file("etc/b", b"b").dir("etc/sub/").file("etc/sub/c", b"c");
    l.dir("run/").file("run/pid", b"1").dir("var/").dir("var/cache/").file("var/cache/x", b"x");
    l.end();
    l
}

#[test]
fn whiteouts_opaque_directories_and_merges() {
    let mut top = Layer::default();
    top.file("etc/.wh.a", b"").file("etc/sub/.wh..wh..opq", b"").file("etc/sub/new", b"n");
    top.special("var/.wh.cache", b'3').file("etc/.wh.never-was", b"");
    top.dir("etc/").file("usr/bin/tool", b"replaced").end();
    let tree = build(&[&base(), &top]).unwrap();
    assert_eq!(
        paths(&tree),
        ["/", "/etc", "/etc/b", "/etc/sub", "/etc/sub/new", "/run", "/usr", "/usr/bin", "/usr/bin/alias", "/usr/bin/tool", "/var"]
    );
    // The hard link keeps the replaced file's leaf; the name gets a new one.
    assert!(line(&tree, "/usr/bin/alias").starts_with("/usr/bin/alias 300 100644 1 "));
    assert!(line(&tree, "/usr/bin/tool").starts_with("/usr/bin/tool 8 100644 1 "));
    // /run emptied with /usr's mtime; / took /usr's metadata.
    assert_eq!(tree.root().stat, tree.dir(match tree.lookup(b"/usr").unwrap() { Some(crate::tree::Node::Dir(d)) => d, _ => panic!() }).stat);
}

#[test]
fn a_directory_over_a_directory_keeps_its_contents() {
    let mut top = Layer::default();
    top.inline(&super::header(b"etc/", b'5', 0, b"", 0o700)).end();
    let tree = build(&[&base(), &top]).unwrap();
    assert!(line(&tree, "/etc").starts_with("/etc 0 40700 3 "));
    assert!(paths(&tree).contains(&"/etc/sub/c".to_string()));
    // A file over a directory replaces it, subtree and all.
    let mut top = Layer::default();
    top.file("etc", b"now a file").end();
    let tree = build(&[&base(), &top]).unwrap();
    assert!(!paths(&tree).iter().any(|p| p.starts_with("/etc/")));
}

#[test]
fn hard_links_share_one_leaf() {
    let tree = build(&[&base()]).unwrap();
    assert!(line(&tree, "/usr/bin/alias").starts_with("/usr/bin/alias 300 100644 2 "));
    assert!(line(&tree, "/usr/bin/tool").starts_with("/usr/bin/tool 0 @120000 "));
    let mut bad = Layer::default();
    bad.dir("usr/").link("usr/x", b'1', "usr/missing").end();
    assert!(build(&[&bad]).unwrap_err().contains(r#"hard link target "/usr/missing": Directory entry "missing" does not exist"#));
}

#[test]
fn parents_must_exist_and_usr_is_required() {
    let mut l = Layer::default();
    l.dir("usr/").file("a/b", b"x").end();
    let err = build(&[&l]).unwrap_err();
    assert!(err.contains("layer 1, /a/b: Directory entry \"a\" does not exist"), "{err}");
    let mut l = Layer::default();
    l.dir("etc/").end();
    assert!(build(&[&l]).unwrap_err().contains("/usr does not exist"));
    let mut l = Layer::default();
    l.dir("usr/").file("usr/../x", b"x").end();
    assert!(build(&[&l]).unwrap_err().contains("Invalid filename"));
}

#[test]
fn type_bits_in_modes_and_limits_on_what_remains() {
    let mut l = Layer::default();
    l.inline(&super::header(b"usr/", b'5', 0, b"", 0o40755));
    l.file_mode("usr/f", b"f", 0o100600);
    // Removed before the end: its bad mode never matters.
    l.file_mode("usr/gone", b"g", 0o40644).file("usr/.wh.gone", b"").end();
    let tree = build(&[&l]).unwrap();
    assert!(line(&tree, "/").starts_with("/ 0 40755 "));
    assert!(line(&tree, "/usr/f").starts_with("/usr/f 1 100600 "));
    let mut l = Layer::default();
    l.dir("usr/").file_mode("usr/f", b"f", 0o40644).end();
    assert!(build(&[&l]).unwrap_err().contains("/usr/f: mode 40644 names another file type"));
}

#[test]
fn the_root_entry_is_a_directory() {
    let mut l = Layer::default();
    l.file("./", b"").end();
    assert!(build(&[&l]).unwrap_err().contains("must be a directory"));
}

/// The layer as a splitstream's stream section: object refs, stream size
/// and the compressed chunk sequence.
pub(super) fn compressed(layer: &Layer) -> (Vec<crate::tree::ObjectId>, u64, Vec<u8>) {
    let (mut refs, mut raw, mut size) = (Vec::new(), Vec::new(), 0u64);
    for chunk in &layer.chunks {
        match chunk {
            Chunk::Inline(data) => {
                raw.extend_from_slice(&(-(data.len() as i64)).to_le_bytes());
                raw.extend_from_slice(data);
                size += data.len() as u64;
            }
            Chunk::External(id) => {
                raw.extend_from_slice(&(refs.len() as i64).to_le_bytes());
                refs.push(crate::tree::ObjectId::new(id));
                size += 300;
            }
        }
    }
    (refs, size, zstd::stream::encode_all(&raw[..], 3).unwrap())
}

#[test]
fn compressed_stream_sections_build_the_same_tree() {
    let mut top = Layer::default();
    top.file("etc/.wh.a", b"").big("etc/big", 300, 5).end();
    let by_chunks = build(&[&base(), &top]).unwrap();
    let mut b = ImageBuilder::new(ALG);
    for layer in [&base(), &top] {
        let (refs, size, data) = compressed(layer);
        b.begin_layer(refs, size).unwrap();
        for piece in data.chunks(7) {
            b.feed(piece).unwrap();
        }
        b.end_layer().unwrap();
    }
    assert_eq!(write_dumpfile(&b.finish(XattrFilter::AllowlistOnly).unwrap()), write_dumpfile(&by_chunks));
    let mut b = ImageBuilder::new(ALG);
    let (refs, size, data) = compressed(&base());
    b.begin_layer(refs, size).unwrap();
    b.feed(&data[..data.len() - 3]).unwrap();
    assert!(b.end_layer().unwrap_err().to_string().starts_with("layer 1: splitstream stream: zstd data is truncated"));
    assert!(ImageBuilder::new(ALG).feed(b"x").unwrap_err().to_string().contains("before begin-layer"));
}
