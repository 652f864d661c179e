//! The golden vectors: composefs-rs's bytes for each script, reproduced by
//! the writer and read back by the reader.

use super::*;
use serde_json::Value;
use std::path::PathBuf;

struct Vector {
    name: String,
    alg: HashAlgorithm,
    content_type: u64,
    old_layout: bool,
    steps: Vec<Step>,
    stream_size: u64,
    content_sha256: String,
    file_size: usize,
    file_sha256: String,
    file: Option<Vec<u8>>,
    object_id: String,
}

fn unbase64(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("bad base64"),
    };
    let mut out = Vec::new();
    for quad in s.as_bytes().chunks(4) {
        let digits: Vec<u8> = quad.iter().filter(|&&c| c != b'=').map(|&c| value(c)).collect();
        let n = digits.iter().enumerate().fold(0u32, |n, (i, &d)| n | u32::from(d) << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..digits.len()]);
    }
    out
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

/// Script ops → steps, as the README of the vectors defines them.
fn expand(alg: HashAlgorithm, script: &[Value]) -> Vec<Step> {
    let mut steps = Vec::new();
    let external = |seed: u32, size: usize| {
        let content = pattern(seed, size);
        Step::External { id: verity(alg, &content), content }
    };
    for op in script {
        if let Some(h) = op.get("inline") {
            steps.push(Step::Inline(unhex(h.as_str().unwrap())));
        } else if let Some(p) = op.get("inlinePattern") {
            steps.push(Step::Inline(pattern(n(&p["seed"]) as u32, n(&p["size"]) as usize)));
        } else if let Some(z) = op.get("inlineZeros") {
            steps.push(Step::Inline(vec![0; n(z) as usize]));
        } else if let Some(e) = op.get("external") {
            let step = external(n(&e["seed"]) as u32, n(&e["size"]) as usize);
            if let Step::External { id, .. } = &step {
                assert_eq!(hex(id), e["objectId"].as_str().unwrap(), "object ID of {e}");
            }
            steps.push(step);
        } else if let Some(r) = op.get("namedRef") {
            let name = r["name"].as_str().unwrap().to_owned();
            steps.push(Step::Named { name, id: unhex(r["streamId"].as_str().unwrap()) });
        } else if let Some(s) = op.get("series") {
            let (count, distinct, seed) = (n(&s["count"]) as u32, n(&s["distinct"]) as u32, n(&s["seed"]) as u32);
            for k in 0..count {
                steps.push(Step::Inline(pattern(seed.wrapping_add(k), 512)));
                let j = k % distinct;
                let size = 65 + 7 * j as usize;
                steps.push(external(seed.wrapping_add(1_000_000).wrapping_add(j), size));
                steps.push(Step::Inline(vec![0; (512 - size % 512) % 512]));
            }
        } else {
            panic!("unknown script op {op}");
        }
    }
    steps
}

fn vectors() -> Vec<Vector> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../test/vectors/splitstream");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
            let alg = alg(doc["hashAlg"].as_str().unwrap());
            Vector {
                name: doc["name"].as_str().unwrap().to_owned(),
                alg,
                content_type: doc["contentType"].as_str().unwrap().parse().unwrap(),
                old_layout: doc["layout"] == "old",
                steps: expand(alg, doc["script"].as_array().unwrap()),
                stream_size: n(&doc["streamSize"]),
                content_sha256: doc["content"]["sha256"].as_str().unwrap().to_owned(),
                file_size: n(&doc["file"]["size"]) as usize,
                file_sha256: doc["file"]["sha256"].as_str().unwrap().to_owned(),
                file: doc["file"]["base64"].as_str().map(unbase64),
                object_id: doc["objectId"].as_str().unwrap().to_owned(),
            }
        })
        .collect()
}

/// composefs-rs's `new_to_old_format`: the same file with the header
/// fields in the pre-`repr(C)` order.
fn to_old_layout(file: &[u8]) -> Vec<u8> {
    let mut old = file.to_vec();
    old[0..16].copy_from_slice(&file[16..32]);
    old[16..18].copy_from_slice(&file[12..14]);
    old[18..29].copy_from_slice(&file[0..11]);
    old[29] = file[11];
    old[30] = file[14];
    old[31] = file[15];
    old
}

/// The vector's expected file: its bytes when small, else only checked by hash.
fn check_file(v: &Vector, file: &[u8], how: &str) {
    assert_eq!(file.len(), v.file_size, "{}: {how}: file size", v.name);
    if let Some(want) = &v.file {
        if let Some(at) = file.iter().zip(want).position(|(a, b)| a != b) {
            panic!("{}: {how}: first difference at byte {at}", v.name);
        }
    }
    assert_eq!(sha256_hex(file), v.file_sha256, "{}: {how}: file sha256", v.name);
    assert_eq!(hex(&verity(v.alg, file)), v.object_id, "{}: {how}: object ID", v.name);
}

#[test]
fn there_are_vectors_of_every_kind() {
    let all = vectors();
    assert!(all.len() >= 20, "{} vectors", all.len());
    for kind in ["inline-only", "mixed", "external-only", "named-refs", "empty", "large", "old-layout-mixed"] {
        for alg in ["sha256", "sha512"] {
            assert!(all.iter().any(|v| v.name == format!("{kind}-{alg}")), "{kind}-{alg} missing");
        }
    }
}

#[test]
fn writer_reproduces_composefs_rs_bytes_whatever_the_piece_size() {
    for v in vectors() {
        let small = v.file_size < 100_000;
        let pieces: &[usize] = if small { &[1 << 20, 4093, 7, 1] } else { &[1 << 20, 4093] };
        for &piece in pieces {
            let file = write_file(v.alg, v.content_type, &v.steps, piece);
            let file = if v.old_layout { to_old_layout(&file) } else { file };
            check_file(&v, &file, &format!("written in {piece}-byte pieces"));
        }
    }
}

#[test]
fn batched_writes_reproduce_composefs_rs_bytes() {
    for v in vectors() {
        for per_batch in [1, 3, 64] {
            let file = write_file_batched(v.alg, v.content_type, &v.steps, per_batch);
            let file = if v.old_layout { to_old_layout(&file) } else { file };
            check_file(&v, &file, &format!("written in batches of {per_batch}"));
        }
    }
}

#[test]
fn a_batch_whose_lengths_do_not_match_is_refused() {
    let mut writer = Writer::new(HashAlgorithm::Sha256, 0).unwrap();
    assert!(writer.write_batch(b"abc", &[2], &[0; 32], &[5]).is_err());
    assert!(writer.write_batch(b"abc", &[3], &[0; 31], &[5]).is_err());
    assert!(writer.write_batch(b"", &[], &[], &[5]).is_err());
    assert!(writer.write_batch(b"abc", &[3], &[0; 32], &[5]).is_ok());
}

#[test]
fn reader_decodes_every_vector_to_its_script() {
    for v in vectors() {
        let file = v.file.clone().unwrap_or_else(|| write_file(v.alg, v.content_type, &v.steps, 1 << 20));
        for feed in [1 << 20, 1000, 1] {
            if feed == 1 && file.len() > 100_000 {
                continue;
            }
            let d = read_file(&file, feed).unwrap_or_else(|e| panic!("{}: {e}", v.name));
            assert_eq!(d.header.layout, if v.old_layout { Layout::Old } else { Layout::Current }, "{}", v.name);
            assert_eq!(d.header.algorithm, v.alg);
            assert_eq!(d.info.content_type, v.content_type);
            assert_eq!(d.info.stream_size, v.stream_size);

            // The script, rebuilt from the chunks.
            let mut content = Vec::new();
            let mut external_ids = Vec::new();
            for chunk in &d.chunks {
                match chunk {
                    Ok(data) => content.extend_from_slice(data),
                    Err(i) => {
                        let id = &d.object_refs[*i as usize];
                        external_ids.push(id.clone());
                        let step = v.steps.iter().find_map(|s| match s {
                            Step::External { id: sid, content } if sid == id => Some(content),
                            _ => None,
                        });
                        content.extend_from_slice(step.expect("external in the script"));
                    }
                }
            }
            assert_eq!(content.len() as u64, v.stream_size, "{}", v.name);
            assert_eq!(sha256_hex(&content), v.content_sha256, "{}: content", v.name);
            let want_ids: Vec<&Vec<u8>> =
                v.steps.iter().filter_map(|s| if let Step::External { id, .. } = s { Some(id) } else { None }).collect();
            assert_eq!(external_ids.iter().collect::<Vec<_>>(), want_ids, "{}: external order", v.name);

            // Named refs: the last stream given for each name, sorted by name.
            let mut want = std::collections::BTreeMap::new();
            for s in &v.steps {
                if let Step::Named { name, id } = s {
                    want.insert(name.clone(), id.clone());
                }
            }
            let got: Vec<(String, Vec<u8>)> =
                d.named.iter().map(|r| (r.name.clone(), d.stream_refs[r.index as usize].clone())).collect();
            assert_eq!(got, want.into_iter().collect::<Vec<_>>(), "{}: named refs", v.name);
        }
    }
}

#[test]
fn old_and_current_layouts_decode_alike() {
    let all = vectors();
    for old in all.iter().filter(|v| v.old_layout) {
        let current = all.iter().find(|v| v.name == old.name.replace("old-layout-", "")).unwrap();
        let (a, b) = (read_file(old.file.as_ref().unwrap(), 4096).unwrap(), read_file(current.file.as_ref().unwrap(), 4096).unwrap());
        assert_eq!(a.header.layout, Layout::Old);
        assert_eq!(b.header.layout, Layout::Current);
        assert_eq!((a.info, a.object_refs, a.stream_refs, a.named, a.chunks), (b.info, b.object_refs, b.stream_refs, b.named, b.chunks));
        assert_eq!(to_old_layout(current.file.as_ref().unwrap()), *old.file.as_ref().unwrap());
    }
}

/// Why nothing ever writes an empty slice to an encoder: zstd records a
/// content size of 0 in the frame only when its very first call ends the
/// frame, so an encoder that saw `write(&[])` emits other bytes than one
/// that saw nothing. composefs-rs never calls write with nothing (its empty
/// named refs and streams are untouched encoders; see the empty vectors).
#[test]
fn an_untouched_encoder_differs_from_one_that_saw_an_empty_write() {
    use std::io::Write;
    let untouched = zstd::stream::write::Encoder::new(Vec::new(), 0).unwrap().finish().unwrap();
    let mut touched = zstd::stream::write::Encoder::new(Vec::new(), 0).unwrap();
    assert_eq!(touched.write(&[]).unwrap(), 0);
    let touched = touched.finish().unwrap();
    assert_ne!(untouched, touched);
    assert_eq!(encode_named_refs(&std::collections::BTreeMap::new()).unwrap(), untouched);
    let empty = write_file(HashAlgorithm::Sha256, 0, &[], 1);
    assert!(empty.ends_with(&untouched) && empty.len() == 112 + 2 * untouched.len());
}
