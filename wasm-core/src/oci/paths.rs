//! Path lookups in a tree exactly as composefs-rs's `Directory` methods do
//! them, Rust `Path` semantics included: "//" and "." inside a path are
//! ignored, a leading "." of a relative path or any ".." is an invalid
//! name, "/" restarts nowhere (lookups stay relative to the directory
//! they start from). Layer names, hard link targets and SELinux policy
//! names all go through here, so what one accepts the other does too.

use crate::tree::{DirId, Node, Tree};
use crate::error::{CoreError, ErrorKind};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component<'a> {
    Root,
    Cur,
    Parent,
    Normal(&'a [u8]),
}

/// `Path::components` for Unix paths.
pub fn components(path: &[u8]) -> Vec<Component<'_>> {
    let mut out = Vec::new();
    let mut rest = path;
    if let Some(r) = rest.strip_prefix(b"/") {
        out.push(Component::Root);
        rest = r;
    } else if rest == b"." || rest.starts_with(b"./") {
        out.push(Component::Cur);
        rest = &rest[1..];
    }
    for part in rest.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => out.push(Component::Parent),
            name => out.push(Component::Normal(name)),
        }
    }
    out
}

/// composefs-rs `ImageError`, with its messages.
#[derive(Debug, PartialEq, Eq)]
pub enum PathError {
    InvalidFilename(Vec<u8>),
    NotFound(Vec<u8>),
    NotADirectory(Vec<u8>),
    IsADirectory(Vec<u8>),
    IsNotRegular(Vec<u8>),
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, what) = match self {
            Self::InvalidFilename(n) => return write!(f, "Invalid filename {:?}", String::from_utf8_lossy(n)),
            Self::NotFound(n) => (n, "does not exist"),
            Self::NotADirectory(n) => (n, "is not a subdirectory"),
            Self::IsADirectory(n) => (n, "is a directory"),
            Self::IsNotRegular(n) => (n, "is not a regular file"),
        };
        write!(f, "Directory entry {:?} {what}", String::from_utf8_lossy(name))
    }
}

impl std::error::Error for PathError {}

impl CoreError for PathError {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Malformed
    }
}

/// `get_directory_opt`: the directory at `path` below `start`, None when
/// some component is missing.
pub fn directory_opt(tree: &Tree, start: DirId, path: &[u8]) -> Result<Option<DirId>, PathError> {
    walk(tree, start, path, &components(path), true)
}

/// `get_directory` (and `get_directory_mut`, which fails the same way):
/// a missing component is an error naming it.
pub fn directory(tree: &Tree, start: DirId, path: &[u8]) -> Result<DirId, PathError> {
    Ok(walk(tree, start, path, &components(path), false)?.expect("missing components are errors"))
}

fn walk(tree: &Tree, start: DirId, whole: &[u8], comps: &[Component<'_>], missing_ok: bool) -> Result<Option<DirId>, PathError> {
    let mut dir = start;
    for c in comps {
        match c {
            Component::Root => {}
            Component::Cur | Component::Parent => return Err(PathError::InvalidFilename(whole.to_vec())),
            Component::Normal(name) => match tree.dir(dir).get(name) {
                Some(Node::Dir(d)) => dir = d,
                Some(Node::Leaf(_)) => return Err(PathError::NotADirectory(name.to_vec())),
                None if missing_ok => return Ok(None),
                None => return Err(PathError::NotFound(name.to_vec())),
            },
        }
    }
    Ok(Some(dir))
}

/// `Path::file_name`: the last component when it is a name.
pub fn file_name<'p>(comps: &[Component<'p>]) -> Option<&'p [u8]> {
    match comps.last() {
        Some(Component::Normal(name)) => Some(name),
        _ => None,
    }
}

/// `split`: the existing directory holding `path`'s last component, and
/// that component.
pub fn split<'p>(tree: &Tree, path: &'p [u8]) -> Result<(DirId, &'p [u8]), PathError> {
    let comps = components(path);
    let Some(name) = file_name(&comps) else { return Err(PathError::InvalidFilename(path.to_vec())) };
    let parent = &comps[..comps.len() - 1];
    let dir = walk(tree, Tree::ROOT, path, parent, false)?.expect("missing components are errors");
    Ok((dir, name))
}
