//! Dumpfiles against composefs-rs: cfsctl's dumpfiles parse and print back
//! byte for byte; hostile lines are refused with their line number.

use crate::error::{CoreError, ErrorKind};
use super::*;
use crate::erofs::{read_image, write, FormatVersion};
use crate::fsverity::HashAlgorithm;
use crate::test_vectors;

const ALG: HashAlgorithm = HashAlgorithm::Sha512;

#[test]
fn cfsctl_dumpfiles_round_trip_byte_for_byte() {
    let mut n = 0;
    for v in test_vectors::dumps() {
        let file = &v.file;
        let text = test_vectors::read(file);
        let parsed = parse_dumpfile(&text, ALG).unwrap_or_else(|e| panic!("{file}: {e}"));
        let printed = write_dumpfile(&parsed);
        assert!(printed == text, "{file}:\n{}", String::from_utf8_lossy(&printed));
        n += 1;
    }
    assert!(n >= 16);
}

#[test]
fn dump_files_match_cfsctl() {
    let ids = test_vectors::ids();
    let cases = ids["dumpFiles"].as_array().unwrap();
    assert!(cases.len() >= 4);
    for case in cases {
        let tree_name = case["tree"].as_str().unwrap();
        let parsed = parse_dumpfile(&test_vectors::read(&format!("{tree_name}.dump")), ALG).unwrap();
        // What cfsctl read: the image it made in that format.
        let version = if case["version"].as_u64() == Some(1) { FormatVersion::V1 } else { FormatVersion::V2 };
        let tree = read_image(&write(&parsed, version).unwrap(), None).unwrap().tree;
        let paths: Vec<Vec<u8>> = case["paths"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().into()).collect();
        let backing = case["backingPathOnly"].as_bool().unwrap();
        let want = test_vectors::read(case["output"].as_str().unwrap());
        let got = dump_files(&tree, &paths, backing).unwrap();
        assert!(got == want, "{case}:\n{}", String::from_utf8_lossy(&got));
    }
}

#[test]
fn hostile_dumpfiles_give_errors_with_line_numbers() {
    let root = "/ 0 40755 2 0 0 0 0.0 - - -\n";
    let digest = "ab".repeat(64);
    let cases: Vec<(String, &str)> = vec![
        (String::new(), "no entries"),
        ("/a 0 100644 1 0 0 0 0.0 - - -\n".into(), "line 1: /a: the first entry must be the root"),
        (format!("{root}{root}"), "line 2: the root directory / appears twice"),
        (format!("{root}/a/b 0 100644 1 0 0 0 0.0 - - -\n"), "line 2: /a/b: its parent directory does not exist"),
        (format!("{root}/a 0 100644 1 0 0 0 0.0 - - -\n/a 0 100644 1 0 0 0 0.0 - - -\n"), "line 3: /a: an entry with this path already exists"),
        (format!("{root}relative 0 100644 1 0 0 0 0.0 - - -\n"), "line 2: path \"relative\": path is not absolute"),
        (format!("{root}/a/../b 0 100644 1 0 0 0 0.0 - - -\n"), ". or .. is not allowed"),
        (format!("{root}/a//b 0 100644 1 0 0 0 0.0 - - -\n"), "empty path component"),
        (format!("{root}/{} 0 100644 1 0 0 0 0.0 - - -\n", "n".repeat(256)), "longer than 255"),
        (format!("{root}/a 0 100644 1 0 0 0 0.0 - - -"), ""),
        (format!("{root}/a 0 100644 1 0 0 0\n"), "line 2: missing mtime field"),
        (format!("{root}/a  0 100644 1 0 0 0 0.0 - - -\n"), "empty size field"),
        (format!("{root}/a x 100644 1 0 0 0 0.0 - - -\n"), "size \"x\" is not a decimal number"),
        (format!("{root}/a 0 100644 1 0 0 0 0.0 - - -\n").replace("100644", "999999"), "not an octal file mode"),
        (format!("{root}/a 0 170644 1 0 0 0 0.0 - - -\n"), "no valid file type"),
        (format!("{root}/a 0 100644 1 4294967296 0 0 0.0 - - -\n"), "uid"),
        (format!("{root}/a 0 100644 1 0 0 0 1.1000000000 - - -\n"), "nanoseconds"),
        (format!("{root}/a 0 100644 1 0 0 0 12 - - -\n"), "SECONDS.NANOSECONDS"),
        (format!("{root}/a 3 100644 1 0 0 0 0.0 - ab -\n"), "size 3 is not the inline content's length 2"),
        (format!("{root}/a 600 100644 1 0 0 0 0.0 - {} -\n", "x".repeat(600)), "over 512"),
        (format!("{root}/a 100 100644 1 0 0 0 0.0 ab/cd - -\n"), "needs its fs-verity digest"),
        (format!("{root}/a 100 100644 1 0 0 0 0.0 ab/cd - {digest}\n"), "does not name the digest's object"),
        (format!("{root}/a 100 100644 1 0 0 0 0.0 ab/cd - abcd\n"), "is not 128 hex characters"),
        (format!("{root}/a 1 120777 1 0 0 0 0.0 - - -\n"), "needs its target"),
        (format!("{root}/a 2000 120777 1 0 0 0 0.0 {} - -\n", "t".repeat(2000)), "over 1024"),
        (format!("{root}/a 0 10644 1 0 0 5 0.0 - - -\n"), "no device number"),
        (format!("{root}/a 0 40755 1 0 0 0 0.0 - x -\n"), "a directory has no content"),
        (format!("{root}/a 0 @40755 - - - - 0.0 /b - -\n"), "cannot be a hard link"),
        (format!("{root}/a 0 @120000 - - - - 0.0 /missing - -\n"), "hard link target does not exist"),
        (format!("{root}/d 0 40755 2 0 0 0 0.0 - - -\n/a 0 @120000 - - - - 0.0 /d - -\n"), "hard link target is a directory"),
        (format!("{root}/a 0 100644 1 0 0 0 0.0 - - - user.x\n"), "has no ="),
        (format!("{root}/a 0 100644 1 0 0 0 0.0 - - - user.x=1 user.x=2\n"), "appears twice"),
        (format!("{root}/a 0 100644 1 0 0 0 0.0 - - - ={}\n", "v"), "xattr name"),
        (format!("{root}/a 0 100644 1 0 0 0 0.0 - - - user.x=\\q\n"), "invalid escape \\q"),
        (format!("{root}/a 0 100644 1 0 0 0 0.0 - - - user.x=\\x4\n"), "escape"),
        (format!("{root}/a\\x00b 0 100644 1 0 0 0 0.0 - - -\n"), "NUL"),
        (format!("{root}/a 0 100644 1 0 0 0 0.0 - - -\r\n"), "digest"),
    ];
    for (text, want) in cases {
        match parse_dumpfile(text.as_bytes(), ALG) {
            Ok(_) if want.is_empty() => {}
            Ok(_) => panic!("accepted: {text:?}"),
            Err(e) => {
                assert!(e.to_string().contains(want), "{text:?}\n  gave: {e}\n  want: {want}");
                assert_eq!(e.kind(), ErrorKind::Malformed, "{text:?}");
            }
        }
    }
}

#[test]
fn fuzzed_dumpfiles_never_panic() {
    let base = test_vectors::read("special.dump");
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..3000 {
        let mut m = base.clone();
        for _ in 0..3 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = state as usize % m.len();
            m[at] = b" \n\\x0-@/=7"[(state >> 32) as usize % 10];
        }
        let _ = parse_dumpfile(&m, ALG);
    }
}

#[test]
fn sockets_negative_mtimes_and_big_devices_round_trip() {
    let d = "ab".repeat(64);
    let text = format!("/ 0 40755 2 0 0 0 -5.0 - - -\n/dev 0 20644 1 0 0 1099511627776 0.0 - - -\n/s 0 140755 1 0 0 0 -86400.0 - - -\n/big 5000000000 100644 1 0 0 0 0.0 ab/{} - {d}\n", &d[2..]);
    let text = text.as_bytes();
    let tree = parse_dumpfile(text, ALG).unwrap();
    let mut lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
    lines[1..].sort();
    assert_eq!(write_dumpfile(&tree), lines.concat());
}
