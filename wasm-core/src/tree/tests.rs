//! Building trees: limits on the way in, hard links, the container transform.

use super::*;
use crate::fsverity::HashAlgorithm;

fn leaf(content: LeafContent) -> NewEntry {
    NewEntry::Leaf(Leaf { stat: Stat { mode: 0o644, ..Stat::default() }, content })
}

fn inline(data: &[u8]) -> NewEntry {
    leaf(LeafContent::Regular(RegularFile::Inline(data.into())))
}

#[test]
fn limits_are_checked_on_insert() {
    let mut t = Tree::new(HashAlgorithm::Sha512);
    assert_eq!(t.insert(b"/a", inline(&[0; 513])), Err(TreeError::Inline(513)));
    assert!(t.insert(b"/a", inline(&[0; 512])).is_ok());
    assert_eq!(t.insert(b"/a", inline(b"")), Err(TreeError::Exists));
    assert_eq!(t.insert(b"/x/y", inline(b"")), Err(TreeError::ParentMissing));
    assert_eq!(t.insert(b"/a/y", inline(b"")), Err(TreeError::ParentNotDirectory));
    assert!(matches!(t.insert(b"/s", leaf(LeafContent::Symlink(vec![b'x'; 1025].into()))), Err(TreeError::Symlink(_))));
    assert!(matches!(t.insert(b"/s", leaf(LeafContent::Symlink(Box::default()))), Err(TreeError::Symlink(_))));
    let id = ObjectId::new(&[1; 32]);
    let ext = leaf(LeafContent::Regular(RegularFile::External { id, size: 100 }));
    assert_eq!(t.insert(b"/e", ext), Err(TreeError::ObjectId { len: 32, expected: 64 }));
    // One chunk of 2^43 bytes is all an image gives an external file.
    let huge = |size| leaf(LeafContent::Regular(RegularFile::External { id: ObjectId::new(&[1; 64]), size }));
    let mut other = Tree::new(HashAlgorithm::Sha512);
    assert_eq!(other.insert(b"/e", huge(MAX_EXTERNAL_SIZE + 1)), Err(TreeError::TooLarge(MAX_EXTERNAL_SIZE + 1)));
    assert!(other.insert(b"/e", huge(MAX_EXTERNAL_SIZE)).is_ok());
    let bad_mode = NewEntry::Directory(Stat { mode: 0o40755, ..Stat::default() });
    assert_eq!(t.insert(b"/d", bad_mode), Err(TreeError::Mode(0o40755)));
    let mut xattrs = Xattrs::new();
    xattrs.insert(vec![b'n'; 256].into(), Box::default());
    assert!(matches!(t.insert(b"/d", NewEntry::Directory(Stat { xattrs, ..Stat::default() })), Err(TreeError::Xattr(_))));
    assert!(matches!(t.insert(b"/l", NewEntry::Hardlink(b"/".to_vec().into())), Err(TreeError::HardlinkTarget(_))));
    assert!(t.insert(b"/l", NewEntry::Hardlink(b"/a".to_vec().into())).is_ok());
    assert_eq!(t.nlinks(), vec![2]);
}

#[test]
fn container_transform_follows_composefs_rs() {
    let mut t = Tree::new(HashAlgorithm::Sha512);
    let mut usr = Stat { mode: 0o555, uid: 1, gid: 2, mtime: 99, ..Stat::default() };
    usr.xattrs.insert(b"security.capability".to_vec().into(), b"c".to_vec().into());
    usr.xattrs.insert(b"user.x".to_vec().into(), b"u".to_vec().into());
    assert!(t.transform_for_oci(XattrFilter::AllowlistOnly).unwrap_err().to_string().contains("/usr does not exist"));
    t.insert(b"/usr", NewEntry::Directory(usr)).unwrap();
    t.insert(b"/run", NewEntry::Directory(Stat { mtime: 5, ..Stat::default() })).unwrap();
    t.insert(b"/run/f", inline(b"x")).unwrap();
    t.insert(b"/g", NewEntry::Hardlink(b"/run/f".to_vec().into())).unwrap();
    t.transform_for_oci(XattrFilter::AllowlistOnly).unwrap();
    assert_eq!(t.root().stat.mode, 0o555);
    assert_eq!(t.root().stat.xattrs.len(), 1);
    let Some(Node::Dir(run)) = t.lookup(b"/run").unwrap() else { panic!() };
    assert!(t.dir(run).is_empty());
    assert_eq!(t.dir(run).stat.mtime, 99);
    assert_eq!(t.nlinks(), vec![1]);
}
