//! Dumpfiles against composefs-rs: cfsctl's dumpfiles parse and print back
//! byte for byte; hostile lines are refused with their line number.

use super::*;
use crate::fsverity::HashAlgorithm;
use crate::test_vectors;

const ALG: HashAlgorithm = HashAlgorithm::Sha512;

#[test]
fn cfsctl_dumpfiles_round_trip_byte_for_byte() {
    let mut n = 0;
    for tree in test_vectors::trees() {
        for (file, ..) in &tree.variants {
            let text = test_vectors::read(file);
            let parsed = parse_dumpfile(&text, ALG).unwrap_or_else(|e| panic!("{file}: {e}"));
            let printed = write_dumpfile(&parsed);
            assert!(printed == text, "{file}:\n{}", String::from_utf8_lossy(&printed));
            n += 1;
        }
    }
    assert!(n >= 12);
}

#[test]
fn dump_files_match_cfsctl() {
    let ids = test_vectors::ids();
    let cases = ids["dumpFiles"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for case in cases {
        let tree_name = case["tree"].as_str().unwrap();
        let tree = parse_dumpfile(&test_vectors::read(&format!("{tree_name}.dump")), ALG).unwrap();
        let paths: Vec<Vec<u8>> = case["paths"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().into()).collect();
        let backing = case["backingPathOnly"].as_bool().unwrap();
        let want = test_vectors::read(case["output"].as_str().unwrap());
        let got = dump_files(&tree, &paths, backing).unwrap();
        assert!(got == want, "{case}:\n{}", String::from_utf8_lossy(&got));
    }
}
