use super::exports::cfskit::core::composefs as wit;
use super::errors::{malformed, wit_error, wit_error_at};
use super::exports::cfskit::core::errors::Error as WitError;
use super::Core;
use crate::dumpfile::{dump_files, parse_dumpfile, write_dumpfile};
use crate::erofs::{image_id, read_image, write, FormatVersion, ImageTree};
use crate::fsverity::HashAlgorithm;
use crate::tree::{FileType, INLINE_CONTENT_MAX, Leaf, LeafContent, NewEntry, Node, ObjectId, RegularFile, Stat, Tree, XattrFilter, Xattrs};
use std::cell::RefCell;

fn wit_algorithm(alg: HashAlgorithm) -> wit::HashAlgorithm {
    match alg {
        HashAlgorithm::Sha256 => wit::HashAlgorithm::Sha256,
        HashAlgorithm::Sha512 => wit::HashAlgorithm::Sha512,
    }
}

fn wit_file_type(t: FileType) -> wit::FileType {
    match t {
        FileType::Directory => wit::FileType::Directory,
        FileType::Regular => wit::FileType::Regular,
        FileType::Symlink => wit::FileType::Symlink,
        FileType::BlockDevice => wit::FileType::BlockDevice,
        FileType::CharDevice => wit::FileType::CharDevice,
        FileType::Fifo => wit::FileType::Fifo,
        FileType::Socket => wit::FileType::Socket,
    }
}

fn stat_of(meta: wit::Metadata) -> Stat {
    let xattrs: Xattrs = meta.xattrs.into_iter().map(|x| (x.name.into(), x.value.into())).collect();
    Stat { mode: meta.mode, uid: meta.uid, gid: meta.gid, mtime: meta.mtime, mtime_nsec: meta.mtime_nsec, xattrs }
}

impl From<wit::ErofsFormat> for FormatVersion {
    fn from(f: wit::ErofsFormat) -> Self {
        match f {
            wit::ErofsFormat::V0 => Self::V0,
            wit::ErofsFormat::V1 => Self::V1,
            wit::ErofsFormat::V2 => Self::V2,
        }
    }
}

impl From<wit::XattrFilter> for XattrFilter {
    fn from(f: wit::XattrFilter) -> Self {
        match f {
            wit::XattrFilter::AllowlistOnly => Self::AllowlistOnly,
            wit::XattrFilter::KeepUserXattrs => Self::KeepUserXattrs,
        }
    }
}

fn wit_xattrs(stat: &Stat) -> Vec<wit::Xattr> {
    stat.xattrs.iter().map(|(n, v)| wit::Xattr { name: n.to_vec(), value: v.to_vec() }).collect()
}

fn new_entry(node: wit::Node, stat: Stat) -> NewEntry {
    let content = match node {
        wit::Node::Directory => return NewEntry::Directory(stat),
        wit::Node::Hardlink(target) => return NewEntry::Hardlink(target.into()),
        wit::Node::InlineFile(data) => LeafContent::Regular(RegularFile::Inline(data.into())),
        wit::Node::ExternalFile(f) => {
            LeafContent::Regular(RegularFile::External { id: ObjectId::new(&f.object_id), size: f.size })
        }
        wit::Node::Symlink(target) => LeafContent::Symlink(target.into()),
        wit::Node::BlockDevice(rdev) => LeafContent::BlockDevice(rdev),
        wit::Node::CharDevice(rdev) => LeafContent::CharDevice(rdev),
        wit::Node::Fifo => LeafContent::Fifo,
        wit::Node::Socket => LeafContent::Socket,
    };
    NewEntry::Leaf(Leaf { stat, content })
}

pub struct WitBlob {
    bytes: Vec<u8>,
    pos: RefCell<usize>,
}

impl WitBlob {
    fn wrap(bytes: Vec<u8>) -> wit::Blob {
        wit::Blob::new(Self { bytes, pos: RefCell::new(0) })
    }
}

impl wit::GuestBlob for WitBlob {
    fn size(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read(&self, max: u32) -> Vec<u8> {
        let mut pos = self.pos.borrow_mut();
        let end = self.bytes.len().min(*pos + max as usize);
        let chunk = self.bytes[*pos..end].to_vec();
        *pos = end;
        chunk
    }
}

pub struct WitTree(RefCell<Tree>);

impl WitTree {
    /// A tree made elsewhere (the `oci` interface) handed to the host.
    pub(super) fn wrap(tree: Tree) -> wit::Tree {
        wit::Tree::new(Self(RefCell::new(tree)))
    }

    /// The tree, for other interfaces that change trees.
    pub(super) fn cell(&self) -> &RefCell<Tree> {
        &self.0
    }
}

impl wit::GuestTree for WitTree {
    fn new(algorithm: wit::HashAlgorithm) -> Self {
        Self(RefCell::new(Tree::new(algorithm.into())))
    }

    fn from_dumpfile(algorithm: wit::HashAlgorithm, text: Vec<u8>) -> Result<wit::Tree, WitError> {
        let tree = parse_dumpfile(&text, algorithm.into()).map_err(wit_error)?;
        Ok(wit::Tree::new(Self(RefCell::new(tree))))
    }

    fn add_entries(&self, entries: Vec<wit::Entry>) -> Result<(), WitError> {
        let mut tree = self.0.borrow_mut();
        for e in entries {
            let entry = new_entry(e.node, stat_of(e.meta));
            tree.insert(&e.path, entry).map_err(|err| wit_error_at(String::from_utf8_lossy(&e.path), err))?;
        }
        Ok(())
    }

    fn transform_for_container(&self, xattrs: wit::XattrFilter) -> Result<(), WitError> {
        self.0.borrow_mut().transform_for_oci(xattrs.into()).map_err(wit_error)
    }

    fn entry_count(&self) -> u64 {
        self.0.borrow().entry_count()
    }

    fn write_image(&self, format: wit::ErofsFormat) -> Result<wit::Blob, WitError> {
        write(&self.0.borrow(), format.into()).map(WitBlob::wrap).map_err(wit_error)
    }

    fn image_id(&self, format: wit::ErofsFormat) -> Result<Vec<u8>, WitError> {
        image_id(&self.0.borrow(), format.into()).map_err(wit_error)
    }

    fn dumpfile(&self) -> wit::Blob {
        WitBlob::wrap(write_dumpfile(&self.0.borrow()))
    }
}

pub struct WitImageReader {
    image: ImageTree,
    nlinks: Vec<u32>,
}

impl WitImageReader {
    /// Every object the image references, sorted, once each.
    fn sorted_objects(&self) -> Vec<&ObjectId> {
        let tree = &self.image.tree;
        let mut ids: Vec<&ObjectId> = Vec::new();
        tree.walk(|_, node| {
            if let Node::Leaf(l) = node {
                ids.extend(tree.leaf(l).content.object());
            }
        });
        ids.sort();
        ids.dedup();
        ids
    }

    fn node(&self, path: &[u8]) -> Result<Node, WitError> {
        let shown = String::from_utf8_lossy(path);
        match self.image.tree.lookup(path) {
            Ok(Some(node)) => Ok(node),
            Ok(None) => Err(malformed(format!("{shown}: no such file or directory"))),
            Err(e) => Err(wit_error_at(shown, e)),
        }
    }

    fn stat(&self, node: Node) -> wit::InodeStat {
        let tree = &self.image.tree;
        let stat = tree.stat(node);
        let (nlink, inode, content) = match node {
            Node::Dir(d) => (tree.dir_nlink(d), self.image.dir_nids[d.index()], None),
            Node::Leaf(l) => (self.nlinks[l.index()], self.image.leaf_nids[l.index()], Some(&tree.leaf(l).content)),
        };
        wit::InodeStat {
            file_type: wit_file_type(tree.file_type(node)),
            mode: stat.mode,
            uid: stat.uid,
            gid: stat.gid,
            mtime: stat.mtime,
            mtime_nsec: stat.mtime_nsec,
            size: content.map_or(0, LeafContent::size),
            nlink,
            rdev: content.map_or(0, LeafContent::rdev),
            xattrs: wit_xattrs(stat),
            symlink_target: match content {
                Some(LeafContent::Symlink(t)) => Some(t.to_vec()),
                _ => None,
            },
            object_id: content.and_then(LeafContent::object).map(|id| id.as_bytes().to_vec()),
            inode,
        }
    }
}

impl wit::GuestImageReader for WitImageReader {
    fn open(image: Vec<u8>, algorithm: Option<wit::HashAlgorithm>) -> Result<wit::ImageReader, WitError> {
        let image = read_image(&image, algorithm.map(Into::into)).map_err(wit_error)?;
        let nlinks = image.tree.nlinks();
        Ok(wit::ImageReader::new(Self { image, nlinks }))
    }

    fn algorithm(&self) -> wit::HashAlgorithm {
        wit_algorithm(self.image.tree.algorithm())
    }

    fn entry_count(&self) -> u64 {
        self.image.tree.entry_count()
    }

    fn stat(&self, path: Vec<u8>) -> Result<wit::InodeStat, WitError> {
        Ok(self.stat(self.node(&path)?))
    }

    fn read_dir(&self, path: Vec<u8>) -> Result<Vec<wit::DirEntry>, WitError> {
        let Node::Dir(d) = self.node(&path)? else {
            return Err(malformed(format!("{}: not a directory", String::from_utf8_lossy(&path))));
        };
        let dir = self.image.tree.dir(d);
        Ok(dir.entries().map(|(name, node)| wit::DirEntry { name: name.to_vec(), stat: self.stat(node) }).collect())
    }

    fn readlink(&self, path: Vec<u8>) -> Result<Vec<u8>, WitError> {
        match self.node(&path)? {
            Node::Leaf(l) => match &self.image.tree.leaf(l).content {
                LeafContent::Symlink(target) => Ok(target.to_vec()),
                _ => Err(malformed(format!("{}: not a symlink", String::from_utf8_lossy(&path)))),
            },
            Node::Dir(_) => Err(malformed(format!("{}: not a symlink", String::from_utf8_lossy(&path)))),
        }
    }

    fn inline_content(&self, path: Vec<u8>) -> Result<Option<Vec<u8>>, WitError> {
        let not_regular = || malformed(format!("{}: not a regular file", String::from_utf8_lossy(&path)));
        match self.node(&path)? {
            Node::Leaf(l) => match &self.image.tree.leaf(l).content {
                LeafContent::Regular(RegularFile::Inline(data)) => Ok(Some(data.to_vec())),
                LeafContent::Regular(RegularFile::External { .. }) => Ok(None),
                _ => Err(not_regular()),
            },
            Node::Dir(_) => Err(not_regular()),
        }
    }

    fn objects(&self) -> Vec<Vec<u8>> {
        self.sorted_objects().into_iter().map(|id| id.as_bytes().to_vec()).collect()
    }

    fn objects_packed(&self) -> Vec<u8> {
        self.sorted_objects().into_iter().flat_map(|id| id.as_bytes().iter().copied()).collect()
    }

    fn dumpfile(&self) -> wit::Blob {
        WitBlob::wrap(write_dumpfile(&self.image.tree))
    }

    fn dump_files(&self, paths: Vec<Vec<u8>>, backing_path_only: bool) -> Result<wit::Blob, WitError> {
        dump_files(&self.image.tree, &paths, backing_path_only).map(WitBlob::wrap).map_err(wit_error)
    }

    fn to_tree(&self) -> wit::Tree {
        wit::Tree::new(WitTree(RefCell::new(self.image.tree.clone())))
    }
}

impl wit::Guest for Core {
    type Blob = WitBlob;
    type Tree = WitTree;
    type ImageReader = WitImageReader;

    fn inline_content_max() -> u32 {
        INLINE_CONTENT_MAX as u32
    }

    fn image_objects(image: Vec<u8>, algorithm: Option<wit::HashAlgorithm>) -> Result<Vec<u8>, WitError> {
        let ids = crate::erofs::image_objects(&image, algorithm.map(Into::into)).map_err(wit_error)?;
        Ok(ids.iter().flat_map(|id| id.as_bytes().iter().copied()).collect())
    }
}
