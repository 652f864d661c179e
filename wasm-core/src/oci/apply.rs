//! Layers applied into one tree as composefs-rs's `create_filesystem` and
//! `process_entry` apply them:
//!
//! - the layer's root entry ("./") only sets the root's metadata;
//! - a directory onto a directory keeps its contents and takes the new
//!   metadata; anything else replaces what was at its name;
//! - `.wh.NAME` removes NAME (if present) and `.wh..wh..opq` empties its
//!   directory, in the order the entries come;
//! - a hard link names the leaf at its target, which must exist;
//! - a parent directory must exist already (composefs-rs does not imply
//!   directories, it fails);
//! - after the last layer, `/` takes `/usr`'s metadata, `/run` is
//!   emptied and xattrs are filtered (composefs-rs 0.9 `transform_for_oci`).
//!
//! Limits the image writer relies on (name lengths, xattr sizes, symlink
//! targets, modes) are checked at the end, on what is reachable, because
//! whatever a later layer removes never reaches composefs-rs's writer.

use super::error::Error;
use super::entry::{LayerEntry, LayerItem};
use super::layer::LayerReader;
use super::paths::{components, file_name, split, PathError};
use super::stream::{Chunk, FeedError, StreamFeed};
use crate::fsverity::HashAlgorithm;
use crate::tree::{check_leaf, check_name, check_stat, DirId, Directory, Leaf, LeafId, Node, ObjectId, Stat, Tree, XattrFilter};

const WHITEOUT_PREFIX: &[u8] = b".wh.";
/// `.wh..wh..opq` once the prefix is taken off.
const OPAQUE: &[u8] = b".wh..opq";

fn tree_stat(entry: &LayerEntry) -> Stat {
    let s = &entry.stat;
    // The raw mode stays until `validate` (type bits may be there).
    Stat { mode: s.mode, uid: s.uid, gid: s.gid, mtime: s.mtime, mtime_nsec: s.mtime_nsec, xattrs: s.xattrs.clone() }
}

/// The leaf a hard link's target names; errors name the target, since the
/// member's own path says nothing about it.
fn link_target(tree: &Tree, target: &[u8]) -> Result<LeafId, Error> {
    let fail = |e: PathError| Error::from(e).context(format!("hard link target {:?}", lossy(target)));
    let (dir, name) = split(tree, target).map_err(fail)?;
    match tree.dir(dir).get(name) {
        Some(Node::Leaf(id)) => Ok(id),
        Some(Node::Dir(_)) => Err(fail(PathError::IsADirectory(name.to_vec()))),
        None => Err(fail(PathError::NotFound(name.to_vec()))),
    }
}

/// Applies one member to `tree` (composefs-rs `process_entry`).
pub fn apply_entry(tree: &mut Tree, entry: &LayerEntry) -> Result<(), Error> {
    if file_name(&components(&entry.path)).is_none() {
        if entry.item != LayerItem::Directory {
            return Err(format!("{:?} must be a directory", lossy(&entry.path)).into());
        }
        // Overwritten by /usr's at the end; kept meanwhile as composefs-rs does.
        tree.dirs[0].stat = tree_stat(entry);
        return Ok(());
    }
    // composefs-rs resolves a hard link before looking at the entry's name.
    let linked = match &entry.item {
        LayerItem::Hardlink(target) => Some(link_target(tree, target)?),
        _ => None,
    };
    let (dir, name) = split(tree, &entry.path)?;
    if let Some(hidden) = name.strip_prefix(WHITEOUT_PREFIX) {
        // A whiteout's own leaf would never be reachable: not even made.
        let entries = &mut tree.dirs[dir.0].entries;
        if hidden == OPAQUE {
            entries.clear();
        } else {
            entries.remove(hidden);
        }
        return Ok(());
    }
    let node = match (&entry.item, linked) {
        (LayerItem::Directory, _) => {
            if let Some(Node::Dir(existing)) = tree.dir(dir).get(name) {
                tree.dirs[existing.0].stat = tree_stat(entry);
                return Ok(());
            }
            let id = DirId(tree.dirs.len());
            tree.dirs.push(Directory { stat: tree_stat(entry), entries: Default::default() });
            Node::Dir(id)
        }
        (_, Some(id)) => Node::Leaf(id),
        (LayerItem::Leaf(content), None) => {
            let id = LeafId(tree.leaves.len());
            tree.leaves.push(Leaf { stat: tree_stat(entry), content: content.clone() });
            Node::Leaf(id)
        }
        (LayerItem::Hardlink(_), None) => return Err("hard link without a target (internal error)".into()),
    };
    tree.dirs[dir.0].entries.insert(name.into(), node);
    Ok(())
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Permission bits of a raw tar mode: type bits, when a tar has them, must
/// be the entry's own type (composefs-rs ORs them in, so other bits would
/// make another file type).
fn permission_bits(mode: u32, ifmt: u32) -> Result<u32, Error> {
    match mode & !0o7777 {
        0 => Ok(mode),
        kind if kind == ifmt => Ok(mode & 0o7777),
        _ => Err(format!("mode {mode:o} names another file type").into()),
    }
}

/// A directory's entries, taken out so the walk may change the tree.
fn children(tree: &Tree, dir: DirId) -> std::vec::IntoIter<(Box<[u8]>, Node)> {
    tree.dir(dir).entries().map(|(name, node)| (Box::from(name), node)).collect::<Vec<_>>().into_iter()
}

/// Normalises modes and checks every limit on what is reachable. The walk
/// is iterative and keeps one path buffer (extended and cut back as it
/// goes), so a hostile layer's deep nesting costs neither stack nor a copy
/// of the whole path per entry.
pub(super) fn validate(tree: &mut Tree) -> Result<(), Error> {
    let root = &mut tree.dirs[0].stat;
    root.mode = permission_bits(root.mode, 0o040000).map_err(|e| e.context("/"))?;
    check_stat(root).map_err(|e| Error::from(e).context("/"))?;
    let mut seen = vec![false; tree.leaves.len()];
    let mut path = b"/".to_vec();
    let mut stack = vec![(path.len(), children(tree, Tree::ROOT))];
    while let Some((base, entries)) = stack.last_mut() {
        let base = *base;
        let Some((name, node)) = entries.next() else {
            stack.pop();
            continue;
        };
        path.truncate(base);
        if path.len() > 1 {
            path.push(b'/');
        }
        path.extend_from_slice(&name);
        let fail = |e: Error| e.context(lossy(&path));
        check_name(&name).map_err(|e| fail(e.into()))?;
        match node {
            Node::Dir(d) => {
                let stat = &mut tree.dirs[d.0].stat;
                stat.mode = permission_bits(stat.mode, 0o040000).map_err(fail)?;
                check_stat(stat).map_err(|e| fail(e.into()))?;
                stack.push((path.len(), children(tree, d)));
            }
            Node::Leaf(l) if !seen[l.0] => {
                seen[l.0] = true;
                let ifmt = tree.leaves[l.0].content.file_type().ifmt();
                let stat = &mut tree.leaves[l.0].stat;
                stat.mode = permission_bits(stat.mode, ifmt).map_err(fail)?;
                check_leaf(tree, &tree.leaves[l.0]).map_err(|e| fail(e.into()))?;
            }
            Node::Leaf(_) => {}
        }
    }
    Ok(())
}

/// A tree being built from an image's layers, fed layer by layer with
/// each layer's splitstream: its chunks, or its compressed stream section.
pub struct ImageBuilder {
    tree: Tree,
    reader: LayerReader,
    /// The current layer's stream section, when fed compressed.
    stream: Option<StreamFeed>,
    /// 1-based number of the layer being read, for messages.
    layer: u32,
}

impl ImageBuilder {
    pub fn new(algorithm: HashAlgorithm) -> Self {
        Self { tree: Tree::new(algorithm), reader: LayerReader::new(algorithm), stream: None, layer: 1 }
    }

    /// The current layer's stream will come compressed, through [`Self::feed`].
    pub fn begin_layer(&mut self, object_refs: Vec<ObjectId>, stream_size: u64) -> Result<(), Error> {
        self.stream = Some(StreamFeed::new(object_refs, stream_size).map_err(|e| self.in_layer(e))?);
        Ok(())
    }

    /// The next compressed bytes of the current layer's stream section.
    pub fn feed(&mut self, compressed: &[u8]) -> Result<u32, Error> {
        self.feed_stream(Some(compressed))
    }

    fn feed_stream(&mut self, compressed: Option<&[u8]>) -> Result<u32, Error> {
        let Some(mut stream) = self.stream.take() else {
            return Err(self.in_layer(Error::malformed("compressed stream data before begin-layer")));
        };
        let result = stream.feed(compressed, |chunk| match chunk {
            Chunk::Inline(data) => self.inline(data),
            Chunk::External(id) => self.external(id.as_bytes()),
        });
        self.stream = Some(stream);
        result.map_err(|e| match e {
            FeedError::Stream(e) => self.in_layer(e),
            FeedError::Sink(e) => e,
        })
    }

    fn apply(&mut self, entries: Vec<LayerEntry>) -> Result<u32, Error> {
        for entry in &entries {
            apply_entry(&mut self.tree, entry).map_err(|e| e.context(format!("layer {}, {}", self.layer, lossy(&entry.path))))?;
        }
        Ok(entries.len() as u32)
    }

    fn in_layer(&self, e: Error) -> Error {
        e.context(format!("layer {}", self.layer))
    }

    /// Inline bytes of the current layer's stream; returns the entries applied.
    pub fn inline(&mut self, data: &[u8]) -> Result<u32, Error> {
        let entries = self.reader.inline(data).map_err(|e| self.in_layer(e))?;
        self.apply(entries)
    }

    /// An external chunk of the current layer's stream.
    pub fn external(&mut self, id: &[u8]) -> Result<u32, Error> {
        let entry = self.reader.external(id).map_err(|e| self.in_layer(e))?;
        self.apply(entry.into_iter().collect())
    }

    /// The current layer's stream is over; the next chunks are the next layer's.
    pub fn end_layer(&mut self) -> Result<(), Error> {
        if self.stream.is_some() {
            self.feed_stream(None)?;
            self.stream = None;
        }
        self.reader.finish().map_err(|e| self.in_layer(e))?;
        self.reader = LayerReader::new(self.tree.algorithm());
        self.layer += 1;
        Ok(())
    }

    /// The image's tree, after composefs-rs's `transform_for_oci`.
    pub fn finish(mut self, xattrs: XattrFilter) -> Result<Tree, Error> {
        self.tree.transform_for_oci(xattrs)?;
        validate(&mut self.tree)?;
        Ok(self.tree)
    }
}
