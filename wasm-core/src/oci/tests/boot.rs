//! The boot transformation and SELinux labels.

use crate::tree::XattrFilter;
use crate::error::{CoreError, ErrorKind};
use super::{object, Chunk, Layer, ALG};
use crate::dumpfile::write_dumpfile;
use crate::oci::{policy_type, transform_for_boot, BootStep, ImageBuilder, Policy};
use crate::tree::{ObjectId, Tree};
use std::collections::HashMap;

fn build(layer: &Layer) -> Tree {
    let mut b = ImageBuilder::new(ALG);
    for chunk in &layer.chunks {
        match chunk {
            Chunk::Inline(data) => b.inline(data).unwrap(),
            Chunk::External(id) => b.external(id).unwrap(),
        };
    }
    b.end_layer().unwrap();
    b.finish(XattrFilter::AllowlistOnly).unwrap()
}

const CONTEXTS: &str = "\
# comment\n\
/.*                system_u:object_r:default_t:s0\n\
/usr(/.*)?         system_u:object_r:usr_t:s0\n\
/usr/bin(/.*)?     system_u:object_r:bin_t:s0\n\
/usr/bin/sh  -l    system_u:object_r:shell_link_t:s0\n\
/boot(/.*)?        <<none>>\n\
/home/[^/]+  -d    system_u:object_r:home_t:s0\n";

fn image(config_external: bool) -> Layer {
    let mut l = Layer::default();
    l.dir("usr/").dir("usr/bin/").file("usr/bin/x", b"x").link("usr/bin/sh", b'2', "x").link("usr/bin/hard", b'1', "usr/bin/x");
    l.dir("boot/").file("boot/vmlinuz", b"k").dir("sysroot/").dir("home/").dir("home/alice/").dir("etc/").dir("etc/selinux/");
    if config_external {
        l.big("etc/selinux/config", 100, 9);
    } else {
        l.file("etc/selinux/config", b"# SELINUXTYPE=no\nSELINUX=enforcing\n selinuxtype = targeted \n");
    }
    l.dir("etc/selinux/targeted/").dir("etc/selinux/targeted/contexts/").dir("etc/selinux/targeted/contexts/files/");
    l.big("etc/selinux/targeted/contexts/files/file_contexts", CONTEXTS.len(), 10);
    l.file("etc/selinux/targeted/contexts/files/file_contexts.subs", b"/var/home /home\n");
    l.pax(&[("SCHILY.xattr.security.selinux", b"container_t")]).file("usr/labelled", b"l");
    l.end();
    l
}

#[test]
fn config_names_the_policy() {
    assert_eq!(policy_type(b"SELINUX=x\n").unwrap(), None);
    assert_eq!(policy_type(b"#SELINUXTYPE=a\nSeLinuxType = mls\r\nSELINUXTYPE=b\n").unwrap().as_deref(), Some("mls"));
    assert!(policy_type(b"\xff\n").is_err());
}

#[test]
fn the_last_matching_line_wins_and_none_removes() {
    let files = |name: &str| (name == "file_contexts").then_some(CONTEXTS.as_bytes());
    let mut p = Policy::build(&files).unwrap();
    assert_eq!(p.lookup(b"/etc/x", b'-').unwrap(), Some("system_u:object_r:default_t:s0"));
    assert_eq!(p.lookup(b"/usr/bin/sh", b'l').unwrap(), Some("system_u:object_r:shell_link_t:s0"));
    assert_eq!(p.lookup(b"/usr/bin/sh", b'-').unwrap(), Some("system_u:object_r:bin_t:s0"));
    assert_eq!(p.lookup(b"/boot/x", b'-').unwrap(), None);
    assert_eq!(p.lookup(b"/home/alice", b'-').unwrap(), Some("system_u:object_r:default_t:s0"));
    let bad = |name: &str| (name == "file_contexts").then_some(&b"/x -q ctx\n"[..]);
    assert!(Policy::build(&bad).err().unwrap().contains("0: invalid type code -q"));
    let none = |_: &str| None;
    assert!(Policy::build(&none).err().unwrap().contains("missing mandatory file_contexts"));
}

#[test]
fn relabelling_asks_for_objects_first() {
    let mut tree = build(&image(true));
    let before = write_dumpfile(&tree);
    let mut supplied = HashMap::new();
    let BootStep::Need(need) = transform_for_boot(&mut tree, &supplied).unwrap() else { panic!("config is an object") };
    assert_eq!(need.len(), 1);
    assert_eq!(need[0].path, b"/etc/selinux/config");
    assert_eq!(write_dumpfile(&tree), before, "unchanged until everything is there");
    supplied.insert(ObjectId::new(&object(9)), b"SELINUXTYPE=targeted\n".to_vec());
    let BootStep::Need(need) = transform_for_boot(&mut tree, &supplied).unwrap() else { panic!("contexts are an object") };
    assert_eq!(need[0].path, b"/etc/selinux/targeted/contexts/files/file_contexts");
    supplied.insert(ObjectId::new(&object(10)), CONTEXTS.as_bytes().to_vec());
    assert_eq!(transform_for_boot(&mut tree, &supplied).unwrap(), BootStep::Done(true));
    let dump = String::from_utf8(write_dumpfile(&tree)).unwrap();
    let label = |p: &str| {
        let l = dump.lines().find(|l| l.split(' ').next() == Some(p)).unwrap();
        l.split(' ').find_map(|f| f.strip_prefix("security.selinux=")).map(str::to_string)
    };
    assert_eq!(label("/").as_deref(), Some("system_u:object_r:default_t:s0"));
    assert_eq!(label("/usr/labelled").as_deref(), Some("system_u:object_r:usr_t:s0"));
    assert_eq!(label("/usr/bin/sh").as_deref(), Some("system_u:object_r:shell_link_t:s0"));
    assert_eq!(label("/home/alice").as_deref(), Some("system_u:object_r:home_t:s0"));
    assert_eq!(label("/boot"), None, "<<none>>");
    assert!(dump.lines().all(|l| !l.starts_with("/boot/") && !l.starts_with("/sysroot/")));
}

#[test]
fn without_a_policy_labels_are_dropped() {
    let mut l = Layer::default();
    l.dir("usr/").dir("boot/").dir("sysroot/").pax(&[("SCHILY.xattr.security.selinux", b"x")]).file("usr/f", b"f").end();
    let mut tree = build(&l);
    assert_eq!(transform_for_boot(&mut tree, &HashMap::new()).unwrap(), BootStep::Done(false));
    assert!(!String::from_utf8(write_dumpfile(&tree)).unwrap().contains("selinux"));
    let mut l = Layer::default();
    l.dir("usr/").dir("boot/").end();
    let err = transform_for_boot(&mut build(&l), &HashMap::new()).unwrap_err();
    assert!(err.to_string().contains("\"sysroot\" does not exist"), "{err}");
    assert_eq!(err.kind(), ErrorKind::Malformed);
}

#[test]
fn inline_config_with_spaces_and_aliases() {
    let mut tree = build(&image(false));
    let mut supplied = HashMap::new();
    supplied.insert(ObjectId::new(&object(10)), CONTEXTS.as_bytes().to_vec());
    assert_eq!(transform_for_boot(&mut tree, &supplied).unwrap(), BootStep::Done(true));
}
