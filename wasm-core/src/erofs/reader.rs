//! Image → tree, the inverse of the writer, for images from anywhere.
//!
//! Besides every bounds check in `image`, the walk refuses what would make
//! it loop or balloon: a directory reached twice (loops, hard-linked
//! directories), `.`/`..` naming the wrong inode, unsorted or duplicate
//! names, nesting deeper than 2048, and link counts that disagree with the
//! tree. A budget proportional to the image size caps the bytes of
//! directories and xattrs it may read, so overlapping structures cannot
//! multiply the work.
//!
//! V0/V1 images are read back as composefs-rs reads them: a regular file
//! marked `trusted.overlay.overlay.whiteout` is a 0:0 character device
//! again, whiteouts with two-hex-digit names in the root (the stubs) are
//! left out, and the writer's whiteout and opaque markers are dropped.

use super::error::Error;
use super::format::{dirent_type, FT_DIRECTORY};
use super::image::{dirents, Image, Inode, RawXattr};
use super::xattr::{parse_metacopy, unescape_name, METACOPY, WHITEOUT};
use crate::fsverity::HashAlgorithm;
use crate::tree::{
    DirId, FileType, Leaf, LeafContent, LeafId, ObjectId, RegularFile, Stat, Tree, MAX_INLINE_CONTENT, SYMLINK_MAX,
};
use std::collections::{HashMap, HashSet};

/// composefs-rs's limit: PATH_MAX / 2 levels.
pub const MAX_DEPTH: usize = 2048;

/// A tree read from an image, with the inode number (nid) of every
/// directory and leaf: entries sharing a nid are hard links.
pub struct ImageTree {
    pub tree: Tree,
    pub dir_nids: Vec<u64>,
    pub leaf_nids: Vec<u64>,
}

struct Budget(u64);

impl Budget {
    fn spend(&mut self, bytes: usize) -> Result<(), Error> {
        self.0 = self.0.checked_sub(bytes as u64).ok_or_else(|| {
            Error::limit("the image references far more directory or xattr data than it holds (overlapping structures?)")
        })?;
        Ok(())
    }
}

struct Walk<'a> {
    image: Image<'a>,
    tree: Tree,
    /// Whether the tree's algorithm was given or fixed by a metacopy yet.
    algorithm_known: bool,
    budget: Budget,
    /// Each directory's parent and name, for error messages.
    names: Vec<Option<(DirId, Box<[u8]>)>>,
    dir_nids: Vec<u64>,
    leaves: HashMap<u64, LeafSeen>,
}

struct LeafSeen {
    id: LeafId,
    /// The dirent type its entries must have.
    dirent_type: u8,
    nlink: u32,
    refs: u32,
}

impl<'a> Walk<'a> {
    fn path(&self, dir: DirId, name: Option<&[u8]>) -> String {
        let mut parts: Vec<&[u8]> = name.into_iter().collect();
        let mut at = dir;
        while let Some(Some((parent, n))) = self.names.get(at.index()) {
            parts.push(n);
            at = *parent;
        }
        let mut path = Vec::new();
        for p in parts.iter().rev() {
            path.push(b'/');
            path.extend_from_slice(p);
        }
        if path.is_empty() {
            path.push(b'/');
        }
        String::from_utf8_lossy(&path).into_owned()
    }

    /// The inode's xattrs as the tree keeps them, and its object if any.
    fn stat(&mut self, inode: &Inode<'a>) -> Result<(Stat, Option<ObjectId>), Error> {
        let raw: Vec<RawXattr<'a>> = self.image.xattrs(inode)?;
        let mut stat = Stat {
            mode: inode.mode,
            uid: inode.uid,
            gid: inode.gid,
            mtime: inode.mtime,
            mtime_nsec: inode.mtime_nsec,
            ..Stat::default()
        };
        let mut object = None;
        for x in raw {
            self.budget.spend(x.name.len() + x.value.len() + 4)?;
            if x.name == METACOPY {
                let (algorithm, id) = parse_metacopy(x.value)?;
                if !self.algorithm_known {
                    self.tree.algorithm = algorithm;
                    self.algorithm_known = true;
                } else if algorithm != self.tree.algorithm {
                    return Err(format!(
                        "object {id} is a {} digest in a {} image",
                        algorithm.name(),
                        self.tree.algorithm.name()
                    ).into());
                }
                object = Some(id);
                continue;
            }
            let Some(name) = unescape_name(&x.name) else { continue };
            if stat.xattrs.insert(name.into(), x.value.into()).is_some() {
                return Err(format!("xattr {} appears twice", String::from_utf8_lossy(&x.name)).into());
            }
        }
        Ok((stat, object))
    }

    fn data(&mut self, inode: &Inode<'a>) -> Result<Vec<u8>, Error> {
        let mut out = Vec::new();
        for piece in self.image.data(inode)? {
            self.budget.spend(piece.len())?;
            out.extend_from_slice(piece);
        }
        Ok(out)
    }

    /// A V0/V1 escaped whiteout: a regular file with the whiteout marker.
    fn is_escaped_whiteout(&mut self, inode: &Inode<'a>) -> Result<bool, Error> {
        if inode.file_type != FileType::Regular || inode.xattrs.is_empty() {
            return Ok(false);
        }
        Ok(self.image.xattrs(inode)?.iter().any(|x| x.name == WHITEOUT))
    }

    fn leaf(&mut self, inode: &Inode<'a>, escaped_whiteout: bool) -> Result<Leaf, Error> {
        let (stat, object) = self.stat(inode)?;
        if escaped_whiteout {
            return Ok(Leaf { stat, content: LeafContent::CharDevice(0) });
        }
        let content = match inode.file_type {
            FileType::Regular => match object {
                Some(id) => LeafContent::Regular(RegularFile::External { id, size: inode.size }),
                None if inode.size > MAX_INLINE_CONTENT as u64 => {
                    return Err(format!(
                        "regular file of {} bytes has no trusted.overlay.metacopy (inline files hold at most {MAX_INLINE_CONTENT})",
                        inode.size
                    ).into())
                }
                None => LeafContent::Regular(RegularFile::Inline(self.data(inode)?.into())),
            },
            FileType::Symlink if inode.size == 0 || inode.size > SYMLINK_MAX as u64 => {
                return Err(format!("symlink target of {} bytes (1 to {SYMLINK_MAX})", inode.size).into())
            }
            FileType::Symlink => LeafContent::Symlink(self.data(inode)?.into()),
            FileType::BlockDevice => LeafContent::BlockDevice(u64::from(inode.u)),
            FileType::CharDevice => LeafContent::CharDevice(u64::from(inode.u)),
            FileType::Fifo => LeafContent::Fifo,
            FileType::Socket => LeafContent::Socket,
            FileType::Directory => unreachable!("directories are not leaves"),
        };
        Ok(Leaf { stat, content })
    }

    /// Reads one directory's entries into the tree; returns the
    /// subdirectories still to read.
    fn directory(&mut self, dir: DirId, nid: u64, parent_nid: u64, depth: usize) -> Result<Vec<(DirId, u64)>, Error> {
        let inode = self.image.inode(nid)?;
        let mut entries = Vec::new();
        for block in self.image.data(&inode)? {
            self.budget.spend(block.len())?;
            entries.extend(dirents(block)?);
        }
        let (mut dot, mut dotdot) = (false, false);
        let mut subdirs = Vec::new();
        let mut previous: Option<&[u8]> = None;
        for (child_nid, ft, name) in entries {
            let shown = |w: &Self| w.path(dir, Some(name));
            if previous.is_some_and(|p| p >= name) {
                return Err(format!("{}: directory entries are not in strictly increasing name order", shown(self)).into());
            }
            previous = Some(name);
            match name {
                b"." | b".." => {
                    let (want, seen) = if name == b"." { (nid, &mut dot) } else { (parent_nid, &mut dotdot) };
                    if child_nid != want || ft != FT_DIRECTORY {
                        return Err(format!("{}: \"{}\" entry points to inode {child_nid}", shown(self), String::from_utf8_lossy(name)).into());
                    }
                    *seen = true;
                    continue;
                }
                _ => {}
            }
            let child = self.child(dir, name, child_nid, ft, depth).map_err(|e| e.context(shown(self)))?;
            if let Some(d) = child {
                subdirs.push((d, child_nid));
            }
        }
        if !dot || !dotdot {
            return Err(format!("{}: directory lacks its \".\" or \"..\" entry", self.path(dir, None)).into());
        }
        if inode.nlink != 2 + subdirs.len() as u32 {
            return Err(format!(
                "{}: directory link count {} is not 2 + {} subdirectories",
                self.path(dir, None),
                inode.nlink,
                subdirs.len()
            ).into());
        }
        Ok(subdirs)
    }

    /// Adds one entry; returns the new directory if it is one.
    fn child(&mut self, dir: DirId, name: &[u8], nid: u64, ft: u8, depth: usize) -> Result<Option<DirId>, Error> {
        if let Some(seen) = self.leaves.get_mut(&nid) {
            if seen.dirent_type != ft {
                return Err(format!("entry type {ft} does not match its inode (type {})", seen.dirent_type).into());
            }
            seen.refs += 1;
            let id = seen.id;
            self.tree.add_link(dir, name, id).map_err(|e| e.to_string())?;
            return Ok(None);
        }
        let inode = self.image.inode(nid)?;
        if dirent_type(inode.file_type) != ft {
            return Err(format!("entry type {ft} does not match its inode ({})", inode.file_type.name()).into());
        }
        if inode.file_type == FileType::Directory {
            if depth + 1 > MAX_DEPTH {
                return Err(Error::limit(format!("directories nest deeper than {MAX_DEPTH} levels")));
            }
            let (stat, _) = self.stat(&inode)?;
            let id = self.tree.add_dir(dir, name, stat).map_err(|e| e.to_string())?;
            self.names.push(Some((dir, name.into())));
            self.dir_nids.push(nid);
            return Ok(Some(id));
        }
        let escaped = self.is_escaped_whiteout(&inode)?;
        let native = inode.file_type == FileType::CharDevice && inode.u == 0;
        if dir == Tree::ROOT && (escaped || native) && name.len() == 2 && name.iter().all(u8::is_ascii_hexdigit) {
            // The V0/V1 whiteout stubs (composefs-rs skips any such entry).
            return Ok(None);
        }
        let leaf = self.leaf(&inode, escaped)?;
        if leaf.content == LeafContent::CharDevice(0) && inode.nlink > 1 {
            return Err(format!("a whiteout (0:0 character device) has link count {}", inode.nlink).into());
        }
        let id = self.tree.add_leaf(dir, name, leaf).map_err(|e| e.to_string())?;
        self.leaves.insert(nid, LeafSeen { id, dirent_type: ft, nlink: inode.nlink, refs: 1 });
        Ok(None)
    }
}

/// Reads a whole composefs image. With `algorithm` None it is taken from
/// the image's metacopy xattrs (sha512 if it has none).
pub fn read_image(data: &[u8], algorithm: Option<HashAlgorithm>) -> Result<ImageTree, Error> {
    let image = Image::open(data)?;
    let root_nid = image.root_nid;
    let budget = Budget(16 * data.len() as u64 + (64 << 20));
    let tree = Tree::new(algorithm.unwrap_or(HashAlgorithm::Sha512));
    let mut w = Walk {
        image,
        tree,
        algorithm_known: algorithm.is_some(),
        budget,
        names: vec![None],
        dir_nids: vec![root_nid],
        leaves: HashMap::new(),
    };
    let root = w.image.inode(root_nid)?;
    if root.file_type != FileType::Directory {
        return Err(format!("the root inode {root_nid} is a {}, not a directory", root.file_type.name()).into());
    }
    let (stat, _) = w.stat(&root)?;
    w.tree.dirs[0].stat = stat;
    let mut visited: HashSet<u64> = HashSet::from([root_nid]);
    let mut pending = vec![(Tree::ROOT, root_nid, root_nid, 0usize)];
    while let Some((dir, nid, parent_nid, depth)) = pending.pop() {
        for (child, child_nid) in w.directory(dir, nid, parent_nid, depth)? {
            if !visited.insert(child_nid) {
                return Err(format!(
                    "{}: directory inode {child_nid} is reached twice (a loop or a hard-linked directory)",
                    w.path(child, None)
                ).into());
            }
            pending.push((child, child_nid, nid, depth + 1));
        }
    }
    let mut leaf_nids = vec![0u64; w.tree.leaf_count()];
    for (nid, seen) in &w.leaves {
        if seen.nlink != seen.refs {
            return Err(format!("inode {nid}: link count {} but {} entries name it", seen.nlink, seen.refs).into());
        }
        leaf_nids[seen.id.index()] = *nid;
    }
    Ok(ImageTree { tree: w.tree, dir_nids: w.dir_nids, leaf_nids })
}
