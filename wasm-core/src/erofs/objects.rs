//! The objects an image references, without building its tree: what
//! garbage collection needs from every image it keeps, for images of
//! hundreds of thousands of files. Every structure is still read through
//! the bounds-checked accessors of `image`, directories are entered once
//! (no loops), nesting is capped and a budget proportional to the image
//! bounds the bytes read; unlike `reader` it does not insist on the
//! writer's orderings and link counts — a GC keeping what an odd image
//! names loses nothing, and fsck is where such images are judged.

use super::error::Error;
use super::format::FT_DIRECTORY;
use super::image::{dirents, Image};
use super::reader::MAX_DEPTH;
use super::xattr::{parse_metacopy, METACOPY};
use crate::fsverity::HashAlgorithm;
use crate::tree::{FileType, ObjectId};

/// Inodes seen, by nid: a bit each (nids are 32-byte slots of the image).
struct Seen(Vec<u64>);

impl Seen {
    fn new(image_len: usize) -> Self {
        Seen(vec![0; image_len / 32 / 64 + 1])
    }

    /// Marks `nid` (one `Image::inode` accepted); false if it was marked already.
    fn insert(&mut self, nid: u64) -> bool {
        let Some(word) = usize::try_from(nid / 64).ok().and_then(|w| self.0.get_mut(w)) else { return false };
        let bit = 1u64 << (nid % 64);
        let fresh = *word & bit == 0;
        *word |= bit;
        fresh
    }
}

/// Every object the image's files are backed by, in the order met (an
/// object may appear more than once). `algorithm` None takes it from the
/// first metacopy xattr.
pub fn image_objects(data: &[u8], algorithm: Option<HashAlgorithm>) -> Result<Vec<ObjectId>, Error> {
    let image = Image::open(data)?;
    let mut budget = 16 * data.len() as u64 + (64 << 20);
    let mut spend = |bytes: usize| -> Result<(), Error> {
        budget = budget.checked_sub(bytes as u64).ok_or_else(|| {
            Error::limit("the image references far more directory or xattr data than it holds (overlapping structures?)")
        })?;
        Ok(())
    };
    let mut algorithm = algorithm;
    let mut objects = Vec::new();
    let mut dirs_seen = Seen::new(data.len());
    let mut leaves_seen = Seen::new(data.len());
    dirs_seen.insert(image.root_nid);
    let root = image.inode(image.root_nid)?;
    if root.file_type != FileType::Directory {
        return Err(format!("the root inode {} is a {}, not a directory", image.root_nid, root.file_type.name()).into());
    }
    let mut pending = vec![(image.root_nid, 0usize)];
    while let Some((nid, depth)) = pending.pop() {
        let inode = image.inode(nid)?;
        for block in image.data(&inode)? {
            spend(block.len())?;
            for (child, ft, name) in dirents(block)? {
                if name == b"." || name == b".." {
                    continue;
                }
                if ft == FT_DIRECTORY {
                    if depth + 1 > MAX_DEPTH {
                        return Err(Error::limit(format!("directories nest deeper than {MAX_DEPTH} levels")));
                    }
                    // Read first: it checks the nid lies in the image.
                    if image.inode(child)?.file_type != FileType::Directory {
                        return Err(format!("entry type {ft} does not match inode {child}").into());
                    }
                    if !dirs_seen.insert(child) {
                        return Err(format!("directory inode {child} is reached twice (a loop or a hard-linked directory)").into());
                    }
                    pending.push((child, depth + 1));
                    continue;
                }
                let leaf = image.inode(child)?;
                if !leaves_seen.insert(child) || leaf.file_type != FileType::Regular {
                    continue;
                }
                for x in image.xattrs(&leaf)? {
                    spend(x.name.len() + x.value.len() + 4)?;
                    if x.name != METACOPY {
                        continue;
                    }
                    let (found, id) = parse_metacopy(x.value)?;
                    match algorithm {
                        None => algorithm = Some(found),
                        Some(a) if a != found => return Err(format!("object {id} is a {} digest in a {} image", found.name(), a.name()).into()),
                        Some(_) => {}
                    }
                    objects.push(id);
                }
            }
        }
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dumpfile::parse_dumpfile;
    use crate::erofs::{read_image, write, FormatVersion};
    use crate::test_vectors;

    #[test]
    fn the_same_objects_as_reading_the_whole_tree() {
        let mut with_objects = 0;
        for v in test_vectors::dumps() {
            let parsed = parse_dumpfile(&test_vectors::read(&v.file), HashAlgorithm::Sha512).unwrap();
            for (version, _) in test_vectors::VERSIONS {
                let image = write(&parsed, version).unwrap();
                let read = read_image(&image, None).unwrap();
                let mut want: Vec<ObjectId> = Vec::new();
                read.tree.walk(|_, node| {
                    if let crate::tree::Node::Leaf(l) = node {
                        want.extend(read.tree.leaf(l).content.object().cloned());
                    }
                });
                want.sort();
                want.dedup();
                let mut got = image_objects(&image, None).unwrap_or_else(|e| panic!("{} {version:?}: {e}", v.file));
                got.sort();
                got.dedup();
                assert_eq!(got, want, "{} {version:?}", v.file);
                if !got.is_empty() {
                    with_objects += 1;
                }
            }
        }
        assert!(with_objects >= 9, "only {with_objects} vector images reference objects");
    }

    #[test]
    fn hostile_images_are_refused_not_followed() {
        assert!(image_objects(b"not an image", None).is_err());
        let parsed = parse_dumpfile(&test_vectors::read("many.dump"), HashAlgorithm::Sha512).unwrap();
        let image = write(&parsed, FormatVersion::V1).unwrap();
        for cut in [1, 100, 1024, image.len() / 2, image.len() - 1] {
            assert!(image_objects(&image[..cut], None).is_err(), "truncated at {cut}");
        }
    }
}
