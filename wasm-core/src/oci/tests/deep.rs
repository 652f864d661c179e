//! Deep nesting. A layer can nest directories as deep as its name bytes
//! allow (depth d costs about d² bytes of names), and every pass over the
//! tree — applying, checking, the EROFS writer and reader, the dumpfile
//! writer, SELinux relabelling — must be iterative: the wasm core runs on a
//! 1 MiB stack, where recursion a few thousand levels deep traps. The
//! passes here run on a thread with that stack.

use crate::error::{CoreError, ErrorKind};
use super::super::apply::validate;
use super::super::selabel::{relabel_tree, Policy};
use super::{build, header, Layer, ALG};
use crate::dumpfile::write_dumpfile;
use crate::erofs;
use crate::tree::{Leaf, LeafContent, RegularFile, Stat, Tree};

/// The wasm core's stack (wasm-ld's default for Rust's wasm32 targets).
const WASM_STACK: usize = 1 << 20;

fn on_wasm_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(WASM_STACK).spawn(f).unwrap().join().unwrap()
}

/// `/usr/d/d/…/d/f`, `depth` directories below /usr, built directly.
fn chain(depth: usize) -> Tree {
    let mut tree = Tree::new(ALG);
    let stat = Stat { mode: 0o755, ..Stat::default() };
    let mut dir = tree.add_dir(Tree::ROOT, b"usr", stat.clone()).unwrap();
    for _ in 0..depth {
        dir = tree.add_dir(dir, b"d", stat.clone()).unwrap();
    }
    let leaf = Leaf { stat: Stat { mode: 0o644, ..Stat::default() }, content: LeafContent::Regular(RegularFile::Inline((*b"x").into())) };
    tree.add_leaf(dir, b"f", leaf).unwrap();
    tree
}

#[test]
fn a_hundred_thousand_nested_directories_overflow_nothing() {
    on_wasm_stack(|| {
        let mut tree = chain(100_000);
        validate(&mut tree).unwrap();
        tree.transform_for_oci(crate::tree::XattrFilter::AllowlistOnly).unwrap();
        assert_eq!(tree.entry_count(), 100_003);
        assert_eq!(tree.nlinks().iter().sum::<u32>(), 1);
        let copy = tree.clone();
        assert_eq!(copy, tree);
        drop(copy);
        let image = erofs::write(&tree, erofs::FormatVersion::V2).unwrap();
        assert_eq!(erofs::image_id(&tree, erofs::FormatVersion::V2).unwrap().len(), ALG.digest_size());
        // composefs-rs's reader stops at PATH_MAX / 2 levels; so does ours,
        // with an error rather than a deeper and deeper walk.
        let err = erofs::read_image(&image, Some(ALG)).err().unwrap();
        assert!(err.to_string().contains("deeper than"), "{err}");
        assert_eq!(err.kind(), ErrorKind::Limit);
    });
}

#[test]
fn deep_trees_write_dumpfiles_and_relabel_without_recursion() {
    on_wasm_stack(|| {
        // The dumpfile holds every path whole (d² bytes): 3000 levels.
        let mut tree = chain(3000);
        let dump = write_dumpfile(&tree);
        let last = format!("/usr{}/f 1 100644 1 ", "/d".repeat(3000));
        assert!(String::from_utf8(dump).unwrap().lines().last().unwrap().starts_with(&last));
        const CONTEXTS: &[u8] = b"/.*  system_u:object_r:default_t:s0\n/usr(/.*)?  system_u:object_r:usr_t:s0\n";
        let mut policy = Policy::build(&|name: &str| (name == "file_contexts").then_some(CONTEXTS)).unwrap();
        relabel_tree(&mut tree, &mut policy).unwrap();
        let image = erofs::write(&tree, erofs::FormatVersion::V2).unwrap();
        let err = erofs::read_image(&image, Some(ALG)).err().unwrap();
        assert!(err.to_string().contains("deeper than"), "{err}");
        assert_eq!(err.kind(), ErrorKind::Limit);
    });
}

/// A layer of `depth` nested directories below /usr, names in PAX records.
fn deep_layer(depth: usize) -> Layer {
    let mut l = Layer::default();
    l.dir("usr/");
    let mut path = String::from("usr");
    for _ in 0..depth {
        path.push_str("/d");
        l.pax(&[("path", path.as_bytes())]).inline(&header(b"ignored", b'5', 0, b"", 0o755));
    }
    l.pax(&[("path", format!("{path}/f").as_bytes())]).file("ignored", b"bottom");
    l.end();
    l
}

#[test]
fn a_deeply_nested_layer_builds_an_image_as_composefs_rs_does() {
    on_wasm_stack(|| {
        // 2000 levels (8 MB of names) is still within what readers take.
        let tree = build(&[&deep_layer(2000)]).unwrap();
        let image = erofs::write(&tree, erofs::FormatVersion::V2).unwrap();
        let back = erofs::read_image(&image, Some(ALG)).unwrap().tree;
        assert_eq!(write_dumpfile(&back), write_dumpfile(&tree));
        let mut at = Tree::ROOT;
        let mut depth = 0;
        while let Some(crate::tree::Node::Dir(d)) = tree.dir(at).get(if at == Tree::ROOT { b"usr" } else { b"d" }) {
            (at, depth) = (d, depth + 1);
        }
        assert_eq!((depth, tree.dir(at).len()), (2001, 1));
    });
}
