//! Checked against test/vectors/fsverity.json: `fsverity digest` output for
//! files at the sizes where tree levels change shape.

use super::*;

struct Vector {
    alg: String,
    lg: u8,
    len: usize,
    digest: String,
}

/// The vectors the TypeScript tests use too.
fn vectors() -> Vec<Vector> {
    let doc: serde_json::Value =
        serde_json::from_str(include_str!("../../../test/vectors/fsverity.json")).unwrap();
    doc["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Vector {
            alg: v["hashAlg"].as_str().unwrap().to_owned(),
            lg: v["lgBlockSize"].as_u64().unwrap() as u8,
            len: v["size"].as_u64().unwrap() as usize,
            digest: v["digest"].as_str().unwrap().to_owned(),
        })
        .collect()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + 7) % 251) as u8).collect()
}

fn params(alg: &str, lg: u8) -> Params {
    let alg = match alg {
        "sha256" => HashAlgorithm::Sha256,
        _ => HashAlgorithm::Sha512,
    };
    Params::new(alg, lg).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn digest_in_chunks(params: Params, data: &[u8], chunk: usize) -> Vec<u8> {
    let mut hasher = FileHasher::new(params);
    data.chunks(chunk.max(1)).for_each(|c| hasher.update(c));
    hasher.finish()
}

#[test]
fn matches_fsverity_utils() {
    for Vector { alg, lg, len, digest: want } in vectors() {
        let data = pattern(len);
        for chunk in [1 << 20, 4096, 4095, 7] {
            let got = hex(&digest_in_chunks(params(&alg, lg), &data, chunk));
            assert_eq!(got, want, "{alg} 2^{lg} len {len} chunk {chunk}");
        }
    }
}

/// Splits like a multi-threaded host would and checks the joined digest.
fn digest_by_ranges(params: Params, data: &[u8], height: u8, units_per_range: usize) -> Vec<u8> {
    let unit = params.block_size() * (params.fan_out() as usize).pow(u32::from(height));
    let mut entries = Vec::new();
    for range in data.chunks(unit * units_per_range) {
        let mut hasher = RangeHasher::new(params, height).unwrap();
        for piece in range.chunks(5000) {
            hasher.update(piece);
            entries.extend(hasher.take_entries());
        }
        entries.extend(hasher.finish());
    }
    digest_from_entries(params, height, data.len() as u64, &entries).unwrap()
}

#[test]
fn ranges_join_to_the_serial_digest() {
    for Vector { alg, lg, len, digest: want } in vectors() {
        if len == 0 {
            continue;
        }
        let p = params(&alg, lg);
        let data = pattern(len);
        let blocks = len.div_ceil(p.block_size()) as u64;
        for height in 0..3u8 {
            if height > 0 && blocks <= p.fan_out().pow(u32::from(height) - 1) {
                continue;
            }
            for units in [1, 3] {
                let got = hex(&digest_by_ranges(p, &data, height, units));
                assert_eq!(got, want, "{alg} 2^{lg} len {len} height {height} units {units}");
            }
        }
    }
}

#[test]
fn rejects_bad_parameters() {
    assert_eq!(Params::new(HashAlgorithm::Sha512, 9), Err(Error::BlockSize(9)));
    assert_eq!(Params::new(HashAlgorithm::Sha512, 17), Err(Error::BlockSize(17)));
    assert_eq!(HashAlgorithm::from_kernel_id(3), None);
    assert!(RangeHasher::new(Params::sha512_4k(), 9).is_err());
}

#[test]
fn rejects_inconsistent_entries() {
    let p = Params::sha512_4k();
    assert_eq!(digest_from_entries(p, 0, 0, &[]), Err(Error::EmptyFile));
    assert_eq!(
        digest_from_entries(p, 0, 4097, &[0; 64]),
        Err(Error::EntryCount { expected: 2, actual: 1 })
    );
    assert_eq!(
        digest_from_entries(p, 0, 4097, &[0; 100]),
        Err(Error::EntrySize { len: 100, digest_size: 64 })
    );
    // 64 blocks fill exactly one level-0 block: level 1 has one entry, level 2 none.
    assert_eq!(
        digest_from_entries(p, 2, 64 * 4096, &[0; 64]),
        Err(Error::HeightTooTall { height: 2, data_size: 64 * 4096 })
    );
}
