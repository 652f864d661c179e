use super::composefs::WitTree;
use super::exports::cfskit::core::oci as wit;
use super::errors::{malformed, wit_error};
use super::exports::cfskit::core::errors::Error as WitError;
use super::Core;
use crate::oci::{dumpfile_line, transform_for_boot, BootStep, EntryStat, ImageBuilder, LayerEntry, LayerItem, LayerReader};
use crate::tree::{LeafContent, ObjectId, RegularFile};
use std::cell::RefCell;
use std::collections::HashMap;

fn wit_item(item: LayerItem) -> wit::LayerItem {
    match item {
        LayerItem::Directory => wit::LayerItem::Directory,
        LayerItem::Hardlink(target) => wit::LayerItem::Hardlink(target),
        LayerItem::Leaf(leaf) => match leaf {
            LeafContent::Regular(RegularFile::Inline(data)) => wit::LayerItem::InlineFile(data.into()),
            LeafContent::Regular(RegularFile::External { id, size }) => {
                wit::LayerItem::ExternalFile(wit::ExternalFile { object_id: id.as_bytes().to_vec(), size })
            }
            LeafContent::Symlink(target) => wit::LayerItem::Symlink(target.into()),
            LeafContent::BlockDevice(rdev) => wit::LayerItem::BlockDevice(rdev),
            LeafContent::CharDevice(rdev) => wit::LayerItem::CharDevice(rdev),
            LeafContent::Fifo => wit::LayerItem::Fifo,
            // Tar has no sockets; kept total for the type.
            LeafContent::Socket => wit::LayerItem::Fifo,
        },
    }
}

fn wit_entry(e: LayerEntry) -> wit::LayerEntry {
    let EntryStat { mode, uid, gid, mtime, mtime_nsec, xattrs } = e.stat;
    wit::LayerEntry {
        path: e.path,
        item: wit_item(e.item),
        mode,
        uid,
        gid,
        mtime,
        mtime_nsec,
        xattrs: xattrs.into_iter().map(|(name, value)| wit::Xattr { name: name.into(), value: value.into() }).collect(),
    }
}

fn entry_of(e: wit::LayerEntry) -> LayerEntry {
    let leaf = |c| LayerItem::Leaf(c);
    let item = match e.item {
        wit::LayerItem::Directory => LayerItem::Directory,
        wit::LayerItem::Hardlink(target) => LayerItem::Hardlink(target),
        wit::LayerItem::InlineFile(data) => leaf(LeafContent::Regular(RegularFile::Inline(data.into()))),
        wit::LayerItem::ExternalFile(f) => {
            leaf(LeafContent::Regular(RegularFile::External { id: ObjectId::new(&f.object_id), size: f.size }))
        }
        wit::LayerItem::Symlink(target) => leaf(LeafContent::Symlink(target.into())),
        wit::LayerItem::BlockDevice(rdev) => leaf(LeafContent::BlockDevice(rdev)),
        wit::LayerItem::CharDevice(rdev) => leaf(LeafContent::CharDevice(rdev)),
        wit::LayerItem::Fifo => leaf(LeafContent::Fifo),
    };
    let xattrs = e.xattrs.into_iter().map(|x| (x.name.into(), x.value.into())).collect();
    LayerEntry { path: e.path, stat: EntryStat { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, mtime_nsec: e.mtime_nsec, xattrs }, item }
}

pub struct WitLayerReader(RefCell<LayerReader>);

impl wit::GuestLayerReader for WitLayerReader {
    fn new(algorithm: wit::HashAlgorithm) -> Self {
        Self(RefCell::new(LayerReader::new(algorithm.into())))
    }

    fn inline(&self, data: Vec<u8>) -> Result<Vec<wit::LayerEntry>, WitError> {
        Ok(self.0.borrow_mut().inline(&data).map_err(wit_error)?.into_iter().map(wit_entry).collect())
    }

    fn external(&self, object_id: Vec<u8>) -> Result<Vec<wit::LayerEntry>, WitError> {
        Ok(self.0.borrow_mut().external(&object_id).map_err(wit_error)?.into_iter().map(wit_entry).collect())
    }

    fn finish(&self) -> Result<(), WitError> {
        self.0.borrow_mut().finish().map_err(wit_error)
    }

    fn ended(&self) -> bool {
        self.0.borrow().ended()
    }
}

/// The builder until `finish` takes it.
pub struct WitImageBuilder(RefCell<Option<ImageBuilder>>);

impl WitImageBuilder {
    fn with<T>(&self, f: impl FnOnce(&mut ImageBuilder) -> Result<T, crate::oci::Error>) -> Result<T, WitError> {
        match self.0.borrow_mut().as_mut() {
            Some(builder) => f(builder).map_err(wit_error),
            None => Err(malformed("the image builder was already finished")),
        }
    }
}

impl wit::GuestImageBuilder for WitImageBuilder {
    fn new(algorithm: wit::HashAlgorithm) -> Self {
        Self(RefCell::new(Some(ImageBuilder::new(algorithm.into()))))
    }

    fn begin_layer(&self, object_refs: Vec<Vec<u8>>, stream_size: u64) -> Result<(), WitError> {
        let refs = object_refs.iter().map(|id| ObjectId::new(id)).collect();
        self.with(|b| b.begin_layer(refs, stream_size))
    }

    fn feed(&self, compressed: Vec<u8>) -> Result<u32, WitError> {
        self.with(|b| b.feed(&compressed))
    }

    fn end_layer(&self) -> Result<(), WitError> {
        self.with(ImageBuilder::end_layer)
    }

    fn finish(&self, xattrs: wit::XattrFilter) -> Result<wit::Tree, WitError> {
        let builder = self.0.borrow_mut().take().ok_or_else(|| malformed("the image builder was already finished"))?;
        builder.finish(xattrs.into()).map(WitTree::wrap).map_err(wit_error)
    }
}

impl wit::Guest for Core {
    type LayerReader = WitLayerReader;
    type ImageBuilder = WitImageBuilder;

    fn dumpfile_lines(entries: Vec<wit::LayerEntry>) -> Vec<u8> {
        let mut out = Vec::new();
        for e in entries {
            dumpfile_line(&entry_of(e), &mut out);
        }
        out
    }

    fn transform_for_boot(tree: wit::TreeBorrow<'_>, supplied: Vec<wit::SuppliedObject>) -> Result<wit::BootStep, WitError> {
        let supplied: HashMap<ObjectId, Vec<u8>> = supplied.into_iter().map(|s| (ObjectId::new(&s.object_id), s.data)).collect();
        let mut tree = tree.get::<WitTree>().cell().borrow_mut();
        Ok(match transform_for_boot(&mut tree, &supplied).map_err(wit_error)? {
            BootStep::Done(relabelled) => wit::BootStep::Done(relabelled),
            BootStep::Need(objects) => wit::BootStep::Need(
                objects
                    .into_iter()
                    .map(|n| wit::NeededObject { path: n.path, object_id: n.id.as_bytes().to_vec(), size: n.size })
                    .collect(),
            ),
        })
    }
}
