//! Tree → dumpfile text, as composefs-rs's `write_dumpfile` (and so
//! `cfsctl create-dumpfile` / `cfsctl dump-files`) prints it.

use super::error::Error;
use super::escape::{field, xattr_fields};
use crate::tree::{DirId, LeafContent, LeafId, Node, RegularFile, Stat, Tree};
use std::collections::HashMap;
use std::io::Write;

struct Writer<'t> {
    tree: &'t Tree,
    nlinks: &'t [u32],
    /// The first path printed for each hard-linked leaf.
    first_path: HashMap<LeafId, Vec<u8>>,
    out: Vec<u8>,
}

/// One line's fields after the path.
struct Line<'a> {
    size: u64,
    mode: u32,
    nlink: u32,
    rdev: u64,
    payload: &'a [u8],
    content: &'a [u8],
    digest: Option<String>,
}

impl<'t> Writer<'t> {
    fn line(&mut self, path: &[u8], stat: &Stat, l: Line<'_>) {
        let out = &mut self.out;
        field(out, path);
        let _ = write!(
            out,
            " {} {:o} {} {} {} {} {}.{} ",
            l.size,
            l.mode | stat.mode,
            l.nlink,
            stat.uid,
            stat.gid,
            l.rdev,
            stat.mtime,
            stat.mtime_nsec
        );
        field(out, l.payload);
        out.push(b' ');
        field(out, l.content);
        out.push(b' ');
        out.extend_from_slice(l.digest.as_deref().unwrap_or("-").as_bytes());
        xattr_fields(out, &stat.xattrs);
    }

    fn dir_line(&mut self, path: &[u8], dir: DirId) {
        let nlink = self.tree.dir_nlink(dir);
        let stat = &self.tree.dir(dir).stat;
        let line = Line { size: 0, mode: 0o040000, nlink, rdev: 0, payload: b"", content: b"", digest: None };
        self.line(path, stat, line);
    }

    fn leaf_line(&mut self, path: &[u8], id: LeafId) {
        let nlink = self.nlinks[id.index()];
        if nlink > 1 {
            if let Some(target) = self.first_path.get(&id) {
                // Only the payload of a hard link line matters to readers.
                let mut line = Vec::new();
                field(&mut line, path);
                line.extend_from_slice(b" 0 @120000 - - - - 0.0 ");
                field(&mut line, target);
                line.extend_from_slice(b" - -\n");
                self.out.extend_from_slice(&line);
                return;
            }
            self.first_path.insert(id, path.to_vec());
        }
        let leaf = self.tree.leaf(id);
        let mode = leaf.content.file_type().ifmt();
        let base = Line { size: 0, mode, nlink, rdev: 0, payload: b"", content: b"", digest: None };
        let line = match &leaf.content {
            LeafContent::Regular(RegularFile::Inline(data)) => Line { size: data.len() as u64, content: data, ..base },
            LeafContent::Regular(RegularFile::External { id, size }) => {
                let pathname = id.pathname();
                let line = Line { size: *size, payload: pathname.as_bytes(), digest: Some(id.to_hex()), ..base };
                return self.line(path, &leaf.stat, line);
            }
            LeafContent::BlockDevice(rdev) | LeafContent::CharDevice(rdev) => Line { rdev: *rdev, ..base },
            LeafContent::Fifo | LeafContent::Socket => base,
            LeafContent::Symlink(target) => Line { size: target.len() as u64, payload: target, ..base },
        };
        self.line(path, &leaf.stat, line);
    }

    /// `dir` at `path`, then everything below it, depth first by name.
    fn subtree(&mut self, path: &mut Vec<u8>, dir: DirId) {
        let start = path.len();
        self.dir_line(path, dir);
        let tree = self.tree;
        let mut stack = vec![(path.len(), tree.dir(dir).entries())];
        while let Some((base, entries)) = stack.last_mut() {
            let base = *base;
            let Some((name, node)) = entries.next() else {
                stack.pop();
                continue;
            };
            path.truncate(base);
            push_name(path, name);
            match node {
                Node::Dir(d) => {
                    self.dir_line(path, d);
                    stack.push((path.len(), tree.dir(d).entries()));
                }
                Node::Leaf(l) => self.leaf_line(path, l),
            }
        }
        path.truncate(start);
    }
}

/// Appends a name as `PathBuf::push` does: one separator unless the path
/// already ends with one.
fn push_name(path: &mut Vec<u8>, name: &[u8]) {
    if path.last() != Some(&b'/') {
        path.push(b'/');
    }
    path.extend_from_slice(name);
}

/// The whole tree as a dumpfile.
pub fn write_dumpfile(tree: &Tree) -> Vec<u8> {
    let nlinks = tree.nlinks();
    let mut w = Writer { tree, nlinks: &nlinks, first_path: HashMap::new(), out: Vec::new() };
    w.subtree(&mut b"/".to_vec(), Tree::ROOT);
    w.out
}

/// Resolves a path as `cfsctl dump-files` does: absolute or relative to
/// the root, empty components ignored, `.` and `..` refused.
fn resolve(tree: &Tree, path: &[u8]) -> Result<Node, String> {
    let shown = String::from_utf8_lossy(path);
    let names: Vec<&[u8]> = path.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect();
    if names.is_empty() {
        return Err(format!("{shown}: not a file or directory name (the root cannot be named)"));
    }
    let mut node = Node::Dir(Tree::ROOT);
    for (i, name) in names.iter().enumerate() {
        if *name == b"." || *name == b".." {
            return Err(format!("{shown}: . and .. are not allowed in paths"));
        }
        let Node::Dir(dir) = node else {
            return Err(format!("{shown}: {} is not a directory", String::from_utf8_lossy(names[i - 1])));
        };
        node = tree.dir(dir).get(name).ok_or_else(|| format!("{shown} not found"))?;
    }
    Ok(node)
}

/// `cfsctl dump-files IMAGE PATH…`: each path's dumpfile lines (a directory
/// with everything below it), or with `backing_path_only` one line per file
/// naming its object path or "inline".
pub fn dump_files(tree: &Tree, paths: &[Vec<u8>], backing_path_only: bool) -> Result<Vec<u8>, Error> {
    let nlinks = tree.nlinks();
    let mut listing = Vec::new();
    let mut out = Vec::new();
    for path in paths {
        let node = resolve(tree, path)?;
        if backing_path_only {
            let Node::Leaf(l) = node else { return Err(Error::malformed(format!("{} is a directory", String::from_utf8_lossy(path)))) };
            out.extend_from_slice(path);
            match tree.leaf(l).content.object() {
                Some(id) => out.extend_from_slice(format!(" {}\n", id.pathname()).as_bytes()),
                None => out.extend_from_slice(b" inline\n"),
            }
            continue;
        }
        // Each path starts afresh: hard links are only recognised within it.
        let mut w = Writer { tree, nlinks: &nlinks, first_path: HashMap::new(), out: Vec::new() };
        match node {
            Node::Dir(d) => w.subtree(&mut path.clone(), d),
            Node::Leaf(l) => w.leaf_line(path, l),
        }
        listing.extend_from_slice(&w.out);
    }
    out.extend_from_slice(&listing);
    Ok(out)
}
