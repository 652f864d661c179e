//! test/vectors/erofs (made by cfsctl, see its README) for the native tests.

use serde_json::Value;
use std::path::PathBuf;

pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test/vectors/erofs")
}

pub fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("vector {name}: {e}"))
}

pub fn ids() -> Value {
    serde_json::from_slice(&read("ids.json")).expect("ids.json is JSON")
}

pub struct TreeVector {
    /// (dumpfile name, sha512 id, sha256 id)
    pub variants: Vec<(String, String, String)>,
}

/// Every tree with its dumpfiles and image IDs (plain, and container ones).
pub fn trees() -> Vec<TreeVector> {
    let ids = ids();
    let trees = ids["trees"].as_object().expect("trees");
    trees
        .iter()
        .map(|(name, v)| {
            let mut variants = Vec::new();
            for (kind, file) in [("plain", format!("{name}.dump")), ("container", format!("{name}.container.dump"))] {
                if let Some(ids) = v.get(kind) {
                    let id = |alg: &str| ids[alg].as_str().expect("id").to_owned();
                    variants.push((file, id("sha512"), id("sha256")));
                }
            }
            TreeVector { variants }
        })
        .collect()
}
