//! test/vectors/erofs (made by cfsctl, see its README) for the native tests.

use crate::erofs::FormatVersion;
use crate::fsverity::HashAlgorithm;
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

pub const VERSIONS: [(FormatVersion, &str); 3] = [(FormatVersion::V0, "v0"), (FormatVersion::V1, "v1"), (FormatVersion::V2, "v2")];

/// One dumpfile cfsctl printed, with the image IDs cfsctl computed for it.
pub struct DumpVector {
    pub file: String,
    /// (algorithm, format, hex ID)
    pub ids: Vec<(HashAlgorithm, FormatVersion, String)>,
}

/// Every variant of every tree (plain, container, …) with its IDs.
pub fn dumps() -> Vec<DumpVector> {
    let ids = ids();
    let mut out = Vec::new();
    for (name, tree) in ids["trees"].as_object().expect("trees") {
        for variant in tree["variants"].as_array().expect("variants") {
            let variant = variant.as_str().expect("variant");
            let file = if variant == "plain" { format!("{name}.dump") } else { format!("{name}.{variant}.dump") };
            let mut v = DumpVector { file, ids: Vec::new() };
            for (alg, alg_name) in [(HashAlgorithm::Sha512, "sha512"), (HashAlgorithm::Sha256, "sha256")] {
                for (version, version_name) in VERSIONS {
                    let id = tree["ids"][format!("{variant}.{alg_name}.{version_name}")].as_str().expect("id");
                    v.ids.push((alg, version, id.to_owned()));
                }
            }
            out.push(v);
        }
    }
    out
}
