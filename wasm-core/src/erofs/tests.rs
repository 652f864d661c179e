//! The writer against composefs-rs: each vector dumpfile (made by cfsctl
//! from a real directory) parsed into a tree must give cfsctl's image ID.

use super::*;
use crate::dumpfile::parse_dumpfile;
use crate::fsverity::HashAlgorithm;
use crate::test_vectors;
use crate::tree::hex;

#[test]
fn image_ids_match_cfsctl() {
    let mut checked = 0;
    for tree in test_vectors::trees() {
        for (file, sha512, sha256) in &tree.variants {
            let text = test_vectors::read(file);
            let t512 = parse_dumpfile(&text, HashAlgorithm::Sha512).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(&hex(&image_id(&t512).unwrap()), sha512, "{file} sha512");
            // A sha256 image names files by sha256 digests, which the dumpfile
            // lacks; without external files only the image digest differs.
            if !String::from_utf8_lossy(&text).lines().any(|l| l.split(' ').nth(10).is_some_and(|d| d != "-")) {
                let t256 = parse_dumpfile(&text, HashAlgorithm::Sha256).unwrap();
                assert_eq!(&hex(&image_id(&t256).unwrap()), sha256, "{file} sha256");
                checked += 1;
            }
            checked += 1;
        }
    }
    assert!(checked >= 18, "only {checked} vectors");
}

#[test]
fn images_read_back_to_the_same_dumpfile_and_bytes() {
    for tree in test_vectors::trees() {
        for (file, ..) in &tree.variants {
            let text = test_vectors::read(file);
            let parsed = parse_dumpfile(&text, HashAlgorithm::Sha512).unwrap();
            let image = write(&parsed).unwrap();
            let back = read_image(&image, None).unwrap_or_else(|e| panic!("{file}: {e}"));
            let dump = crate::dumpfile::write_dumpfile(&back.tree);
            assert!(dump == text, "{file}:\n{}", String::from_utf8_lossy(&dump));
            assert!(write(&back.tree).unwrap() == image, "{file}: rewritten image differs");
        }
    }
}
