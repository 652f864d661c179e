//! SELinux labels from an image's own policy, as composefs-boot's
//! `selabel.rs` computes them: the `file_contexts` files (plus `.local`
//! and `.homedirs`) become one multi-pattern lazy DFA over "path + type
//! character", built with the same regex engine and settings, where the
//! last matching line of the files wins; `.subs` and `.subs_dist` alias
//! whole paths (and everything below an aliased directory). `<<none>>`
//! and no match both mean "no label".
//!
//! Not here: finding or reading the policy files (see `boot`).

use crate::tree::{DirId, LeafContent, Node, Stat, Tree};
use regex_automata::{hybrid::dfa, util::syntax, Anchored, Input};
use std::collections::HashMap;

pub const XATTR_SECURITY_SELINUX: &[u8] = b"security.selinux";

/// The lines of a policy file, refusing what is not UTF-8 (as Rust's
/// `BufRead::lines` does).
fn lines(data: &[u8]) -> impl Iterator<Item = Result<&str, String>> {
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let mut parts: Vec<&[u8]> = if data.is_empty() { Vec::new() } else { body.split(|&b| b == b'\n').collect() };
    for line in &mut parts {
        *line = line.strip_suffix(b"\r").unwrap_or(line);
    }
    parts.into_iter().map(|l| std::str::from_utf8(l).map_err(|_| "stream did not contain valid UTF-8".to_string()))
}

/// `/etc/selinux/config`: the value of its first SELINUXTYPE= line.
pub fn policy_type(config: &[u8]) -> Result<Option<String>, String> {
    for line in lines(config) {
        if let Some((key, value)) = line?.split_once('=') {
            if key.trim().eq_ignore_ascii_case("SELINUXTYPE") {
                return Ok(Some(value.trim().to_string()));
            }
        }
    }
    Ok(None)
}

fn spec_file(data: &[u8], regexps: &mut Vec<String>, contexts: &mut Vec<String>) -> Result<(), String> {
    for (line_nr, line) in lines(data).enumerate() {
        let line = line?;
        let mut parts = line.split_whitespace();
        let regex = match parts.next() {
            None => continue,
            Some(comment) if comment.starts_with('#') => continue,
            Some(regex) => regex,
        };
        let Some(next) = parts.next() else { return Err(format!("{line_nr}: missing separator after regex")) };
        if let Some(ifmt) = next.strip_prefix('-') {
            if !["b", "c", "d", "p", "l", "s", "-"].contains(&ifmt) {
                return Err(format!("{line_nr}: invalid type code -{ifmt}"));
            }
            let Some(context) = parts.next() else { return Err(format!("{line_nr}: missing context field")) };
            regexps.push(format!("^({regex}){ifmt}$"));
            contexts.push(context.to_string());
        } else {
            regexps.push(format!("^({regex}).$"));
            contexts.push(next.to_string());
        }
        if parts.next().is_some() {
            return Err(format!("{line_nr}: trailing data"));
        }
    }
    Ok(())
}

fn subs_file(data: &[u8], aliases: &mut HashMap<Vec<u8>, Vec<u8>>) -> Result<(), String> {
    for (line_nr, line) in lines(data).enumerate() {
        let line = line?;
        let mut parts = line.split_whitespace();
        let alias = match parts.next() {
            None => continue,
            Some(comment) if comment.starts_with('#') => continue,
            Some(alias) => alias,
        };
        let Some(original) = parts.next() else { return Err(format!("{line_nr}: missing original path")) };
        if parts.next().is_some() {
            return Err(format!("{line_nr}: trailing data"));
        }
        aliases.insert(alias.as_bytes().to_vec(), original.as_bytes().to_vec());
    }
    Ok(())
}

/// The policy files by name ("file_contexts", "file_contexts.subs", …).
pub type PolicyFiles<'a> = &'a dyn Fn(&str) -> Option<&'a [u8]>;

pub struct Policy {
    aliases: HashMap<Vec<u8>, Vec<u8>>,
    dfa: dfa::DFA,
    cache: dfa::Cache,
    contexts: Vec<String>,
}

impl Policy {
    /// Builds the policy from its files; `file_contexts` is mandatory.
    pub fn build(files: PolicyFiles<'_>) -> Result<Self, String> {
        let (mut regexps, mut contexts, mut aliases) = (Vec::new(), Vec::new(), HashMap::new());
        for suffix in ["", ".local", ".homedirs"] {
            let name = format!("file_contexts{suffix}");
            match files(&name) {
                Some(data) => spec_file(data, &mut regexps, &mut contexts).map_err(|e| format!("SELinux spec file {name}: {e}"))?,
                None if suffix.is_empty() => return Err("SELinux policy is missing mandatory file_contexts file".into()),
                None => {}
            }
        }
        for suffix in [".subs", ".subs_dist"] {
            let name = format!("file_contexts{suffix}");
            if let Some(data) = files(&name) {
                subs_file(data, &mut aliases).map_err(|e| format!("SELinux subs file {name}: {e}"))?;
            }
        }
        // The DFA reports the first pattern that matches; the last line wins.
        regexps.reverse();
        contexts.reverse();
        let mut builder = dfa::Builder::new();
        builder.syntax(syntax::Config::new().unicode(false).utf8(false).line_terminator(0));
        builder.configure(dfa::Config::new().cache_capacity(10_000_000).skip_cache_capacity_check(true));
        let dfa = builder.build_many(&regexps).map_err(|e| format!("SELinux file_contexts: {e}"))?;
        let cache = dfa.create_cache();
        Ok(Self { aliases, dfa, cache, contexts })
    }

    /// The label for `path` of type `ifmt` (selabel_file(5) letters).
    pub fn lookup(&mut self, path: &[u8], ifmt: u8) -> Result<Option<&str>, String> {
        let mut key = Vec::with_capacity(path.len() + 1);
        key.extend_from_slice(path);
        key.push(ifmt);
        let input = Input::new(&key).anchored(Anchored::Yes);
        let found = self.dfa.try_search_fwd(&mut self.cache, &input).map_err(|e| format!("SELinux lookup of {}: {e}", String::from_utf8_lossy(path)))?;
        Ok(match found {
            Some(m) => match self.contexts[m.pattern().as_usize()].as_str() {
                "<<none>>" => None,
                ctx => Some(ctx),
            },
            None => None,
        })
    }

    fn relabel(&mut self, stat: &mut Stat, path: &[u8], ifmt: u8) -> Result<(), String> {
        match self.lookup(path, ifmt)? {
            Some(label) => {
                let label: Box<[u8]> = label.as_bytes().into();
                stat.xattrs.insert(XATTR_SECURITY_SELINUX.into(), label);
            }
            None => {
                stat.xattrs.remove(XATTR_SECURITY_SELINUX);
            }
        }
        Ok(())
    }
}

fn leaf_type(content: &LeafContent) -> u8 {
    match content {
        LeafContent::Regular(_) => b'-',
        LeafContent::Fifo => b'p',
        LeafContent::Socket => b's',
        LeafContent::Symlink(_) => b'l',
        LeafContent::BlockDevice(_) => b'b',
        LeafContent::CharDevice(_) => b'c',
    }
}

/// `PathBuf::push` of one name.
fn pushed(path: &[u8], name: &[u8]) -> Vec<u8> {
    let mut out = path.to_vec();
    if out.last() != Some(&b'/') {
        out.push(b'/');
    }
    out.extend_from_slice(name);
    out
}

/// Labels every directory and leaf reachable from the root, in
/// composefs-boot's order (depth first, names sorted): a leaf with several
/// names keeps the label of the last one visited.
pub fn relabel_tree(tree: &mut Tree, policy: &mut Policy) -> Result<(), String> {
    policy.relabel(&mut tree.dirs[0].stat, b"/", b'd')?;
    // Each frame: a directory's children still to visit, and its path.
    let mut stack: Vec<(Children, Vec<u8>)> = vec![(children(tree, Tree::ROOT), b"/".to_vec())];
    while let Some((iter, dir_path)) = stack.last_mut() {
        let Some((name, node)) = iter.next() else {
            stack.pop();
            continue;
        };
        let path = pushed(dir_path, &name);
        let effective = policy.aliases.get(&path).cloned().unwrap_or(path);
        match node {
            Node::Leaf(l) => {
                let ifmt = leaf_type(&tree.leaves[l.0].content);
                policy.relabel(&mut tree.leaves[l.0].stat, &effective, ifmt)?;
            }
            Node::Dir(d) => {
                policy.relabel(&mut tree.dirs[d.0].stat, &effective, b'd')?;
                stack.push((children(tree, d), effective));
            }
        }
    }
    Ok(())
}

/// A directory's entries still to visit.
type Children = std::vec::IntoIter<(Box<[u8]>, Node)>;

fn children(tree: &Tree, dir: DirId) -> Children {
    tree.dir(dir).entries().map(|(n, node)| (Box::from(n), node)).collect::<Vec<_>>().into_iter()
}

/// Without a policy: no `security.selinux` anywhere.
pub fn strip_labels(tree: &mut Tree) {
    tree.filter_xattrs(|name| name != XATTR_SECURITY_SELINUX);
}
