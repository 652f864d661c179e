//! Hostile member names, parents, hard links, whiteouts and duplicates:
//! each either does what composefs-rs's `process_entry` does with it (the
//! test name says so) or fails naming the layer, the member and the
//! problem. None may panic.

use super::{build, header, line, paths, Layer};

/// A layer that starts with `usr/` and then whatever `body` adds.
fn usr(body: impl FnOnce(&mut Layer)) -> Layer {
    let mut l = Layer::default();
    l.dir("usr/");
    body(&mut l);
    l.end();
    l
}

fn fails(layer: &Layer, expected: &str) {
    let err = build(&[layer]).expect_err(expected);
    assert!(err.contains(expected), "{err:?} should contain {expected:?}");
}

#[test]
fn dot_dot_components_are_invalid_filenames_as_in_composefs_rs() {
    // Rust's Path keeps "..", and composefs-rs's lookups refuse it.
    for name in ["usr/../x", "../x", "/../usr/x", "usr/a/../b"] {
        fails(&usr(|l| { l.dir("usr/a/").file(name, b"x"); }), "Invalid filename");
    }
    // Components are looked up in order: a missing one before ".." is
    // what is reported, as composefs-rs reports it.
    fails(&usr(|l| { l.file("usr/none/../b", b"x"); }), "Directory entry \"none\" does not exist");
    fails(&usr(|l| { l.file("usr/../x", b"x"); }), "layer 1, /usr/../x: Invalid filename \"/usr/../x\"");
}

#[test]
fn names_ending_in_dot_dot_are_the_root_entry_as_in_composefs_rs() {
    // `Path::file_name` is None for "/usr/..": composefs-rs takes such a
    // member as the layer's root entry, so a directory only sets the
    // root's metadata (later replaced by /usr's) and anything else fails.
    let tree = build(&[&usr(|l| { l.inline(&header(b"usr/..", b'5', 0, b"", 0o700)); })]).unwrap();
    assert_eq!(paths(&tree), ["/", "/usr"]);
    assert!(line(&tree, "/").starts_with("/ 0 40755 "), "the root takes /usr's metadata at the end");
    fails(&usr(|l| { l.file("usr/..", b""); }), "\"/usr/..\" must be a directory");
    fails(&usr(|l| { l.link("usr/..", b'1', "usr"); }), "\"/usr/..\" must be a directory");
}

#[test]
fn absolute_and_doubled_slashes_are_the_relative_name_as_in_composefs_rs() {
    let tree = build(&[&usr(|l| { l.file("/usr/a", b"1").file("//usr//b", b"2").file("usr/./c", b"3"); })]).unwrap();
    assert_eq!(paths(&tree), ["/", "/usr", "/usr/a", "/usr/b", "/usr/c"]);
}

#[test]
fn empty_slash_and_dot_names_are_the_root_entry_as_in_composefs_rs() {
    for name in ["", "/", "//", ".", "./", "./.", "/./"] {
        let mut l = Layer::default();
        l.inline(&header(name.as_bytes(), b'5', 0, b"", 0o700)).dir("usr/").end();
        assert_eq!(paths(&build(&[&l]).unwrap()), ["/", "/usr"], "{name:?}");
        let mut l = Layer::default();
        l.dir("usr/").inline(&header(name.as_bytes(), b'0', 0, b"", 0o644)).end();
        let err = build(&[&l]).unwrap_err();
        assert!(err.contains("must be a directory"), "{name:?}: {err}");
    }
}

#[test]
fn a_parent_that_is_a_symlink_or_a_file_is_not_followed() {
    // composefs-rs never follows symlinks while building: a member below
    // one fails, as does one below a regular file or a device.
    fails(&usr(|l| { l.link("usr/lib", b'2', "/etc").file("usr/lib/x", b"x"); }), "layer 1, /usr/lib/x: Directory entry \"lib\" is not a subdirectory");
    fails(&usr(|l| { l.file("usr/f", b"f").dir("usr/f/d/"); }), "/usr/f/d: Directory entry \"f\" is not a subdirectory");
    fails(&usr(|l| { l.special("usr/null", b'3').file("usr/null/x", b"x"); }), "Directory entry \"null\" is not a subdirectory");
    // Nor for a whiteout, nor for a hard link's target.
    fails(&usr(|l| { l.link("usr/lib", b'2', ".").file("usr/lib/.wh.x", b""); }), "Directory entry \"lib\" is not a subdirectory");
    fails(&usr(|l| { l.link("usr/lib", b'2', ".").file("usr/lib/f", b"").link("usr/h", b'1', "usr/lib/f"); }), "is not a subdirectory");
}

#[test]
fn hard_links_to_what_is_not_a_leaf_fail_naming_the_target() {
    fails(&usr(|l| { l.link("usr/h", b'1', "usr/missing"); }), r#"layer 1, /usr/h: hard link target "/usr/missing": Directory entry "missing" does not exist"#);
    fails(&usr(|l| { l.link("usr/h", b'1', "usr"); }), r#"hard link target "/usr": Directory entry "usr" is a directory"#);
    fails(&usr(|l| { l.link("usr/h", b'1', "usr/h"); }), r#"hard link target "/usr/h": Directory entry "h" does not exist"#);
    fails(&usr(|l| { l.file("usr/f", b"").link("usr/h", b'1', "usr/../usr/f"); }), r#"hard link target "/usr/../usr/f": Invalid filename"#);
    fails(&usr(|l| { l.link("usr/h", b'1', ""); }), "hard link target \"\": Invalid filename");
    fails(&usr(|l| { l.link("usr/h", b'1', "/"); }), "Invalid filename");
    fails(&usr(|l| { l.link("usr/h", b'1', "usr/.."); }), "Invalid filename");
    // composefs-rs resolves the target before it looks at the name, so a
    // whiteout that is a hard link to nothing fails too.
    fails(&usr(|l| { l.link("usr/.wh.h", b'1', "usr/none"); }), "hard link target \"/usr/none\"");
}

#[test]
fn a_hard_link_to_itself_is_a_no_op_as_in_composefs_rs() {
    let tree = build(&[&usr(|l| { l.file("usr/a", b"a").link("usr/a", b'1', "/usr/a"); })]).unwrap();
    assert!(line(&tree, "/usr/a").starts_with("/usr/a 1 100644 1 "), "one name, one link");
    // Links to symlinks and devices are links to their leaves.
    let tree = build(&[&usr(|l| { l.link("usr/s", b'2', "x").link("usr/h", b'1', "usr/s"); })]).unwrap();
    assert!(line(&tree, "/usr/h").starts_with("/usr/h 1 120777 2 "));
}

#[test]
fn whiteouts_of_dot_and_dot_dot_are_no_ops_as_in_composefs_rs() {
    // ".wh.." hides ".", ".wh..." hides "..", ".wh." hides "": no entry
    // has those names, so nothing is removed (and the whiteouts are not kept).
    for name in ["usr/.wh..", "usr/.wh...", "usr/.wh.", ".wh..", ".wh...", ".wh."] {
        let tree = build(&[&usr(|l| { l.file("usr/a", b"a").file(name, b""); })]).unwrap();
        assert_eq!(paths(&tree), ["/", "/usr", "/usr/a"], "{name}");
    }
}

#[test]
fn an_opaque_whiteout_at_the_root_empties_it_in_order_as_in_composefs_rs() {
    // composefs-rs applies `.wh..wh..opq` when it comes: what the layer
    // adds after it stays, everything before it (this layer's too) goes.
    let base = usr(|l| { l.dir("etc/").file("etc/a", b"a"); });
    let mut top = Layer::default();
    top.dir("var/").file(".wh..wh..opq", b"").dir("usr/").file("usr/b", b"b").end();
    assert_eq!(paths(&build(&[&base, &top]).unwrap()), ["/", "/usr", "/usr/b"]);
    let mut top = Layer::default();
    top.file("/.wh..wh..opq", b"").end();
    assert!(build(&[&base, &top]).unwrap_err().contains("/usr does not exist"));
    // A whiteout of /usr itself, as a directory-typed member.
    let mut top = Layer::default();
    top.dir(".wh.usr/").end();
    assert!(build(&[&base, &top]).unwrap_err().contains("/usr does not exist"));
}

#[test]
fn members_below_a_whiteout_fail_as_its_parent_does_not_exist() {
    fails(&usr(|l| { l.dir("usr/.wh.d/").file("usr/.wh.d/x", b""); }), "/usr/.wh.d/x: Directory entry \".wh.d\" does not exist");
    fails(&usr(|l| { l.file("nope/.wh.x", b""); }), "layer 1, /nope/.wh.x: Directory entry \"nope\" does not exist");
}

#[test]
fn duplicate_members_the_last_wins_as_in_composefs_rs() {
    let tree = build(&[&usr(|l| {
        l.file("usr/f", b"first").file_mode("usr/f", b"second", 0o600);
        l.dir("usr/d/").file("usr/d/x", b"x").inline(&header(b"usr/d/", b'5', 0, b"", 0o700));
        l.link("usr/s", b'2', "t").dir("usr/s/").file("usr/s/y", b"y");
        l.dir("usr/e/").file("usr/e/z", b"z").link("usr/e", b'2', "gone");
        l.dir("./").dir("./").dir("usr/");
    })])
    .unwrap();
    assert_eq!(paths(&tree), ["/", "/usr", "/usr/d", "/usr/d/x", "/usr/e", "/usr/f", "/usr/s", "/usr/s/y"]);
    assert!(line(&tree, "/usr/f").starts_with("/usr/f 6 100600 1 "), "the second file, once");
    assert!(line(&tree, "/usr/d").starts_with("/usr/d 0 40700 2 "), "the second directory's metadata, the first's contents");
    assert!(line(&tree, "/usr/e").starts_with("/usr/e 4 120777 1 "), "a symlink replaced the directory and its contents");
}
