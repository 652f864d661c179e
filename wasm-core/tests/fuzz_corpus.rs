//! The fuzz targets' inputs through the normal test binary, on every
//! `cargo test`: each target's seeds (built from the test vectors), every
//! regression input kept in `fuzz/regressions/<target>/` (inputs the
//! fuzzers found crashing, hanging or allocating without bound), and a
//! fixed number of deterministic mutations of the seeds. The libFuzzer
//! runs (`scripts/fuzz.sh`) use the same harness.

#[path = "../fuzz/harness.rs"]
mod harness;

use std::path::Path;
use std::time::{Duration, Instant};

/// Mutations per target and run: bounded, so the whole test stays in seconds.
const MUTATIONS: usize = 400;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn mutate(seed: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut m = seed.to_vec();
    for _ in 0..1 + rng.next() % 4 {
        if m.is_empty() {
            m.push(rng.next() as u8);
            continue;
        }
        let at = (rng.next() as usize) % m.len();
        match rng.next() % 6 {
            0 => m[at] ^= 1 << (rng.next() % 8),
            1 => m[at] = rng.next() as u8,
            2 if at + 8 <= m.len() => m[at..at + 8].copy_from_slice(&rng.next().to_le_bytes()),
            3 if at + 8 <= m.len() => m[at..at + 8].fill(0xff),
            4 => m.truncate(at),
            _ => {
                let len = (rng.next() as usize % 64).min(m.len() - at);
                let piece = m[at..at + len].to_vec();
                m.splice(at..at, piece);
            }
        }
    }
    m
}

fn regressions(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions").join(target);
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut out: Vec<_> = entries
        .filter_map(Result::ok)
        .filter_map(|e| Some((e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).ok()?)))
        .collect();
    out.sort();
    out
}

#[test]
fn every_target_has_seeds_from_the_test_vectors() {
    for (target, _) in harness::TARGETS {
        assert!(!harness::seeds(target).is_empty(), "{target} has no seeds");
    }
}

#[test]
fn seeds_regressions_and_mutations_run_clean_and_quickly() {
    for (target, run) in harness::TARGETS {
        let seeds = harness::seeds(target);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ target.len() as u64);
        let mut inputs: Vec<(String, Vec<u8>)> = seeds.iter().enumerate().map(|(i, s)| (format!("seed {i}"), s.clone())).collect();
        inputs.extend(regressions(target));
        for i in 0..MUTATIONS {
            let seed = &seeds[i % seeds.len()];
            inputs.push((format!("mutation {i}"), mutate(seed, &mut rng)));
        }
        for (name, input) in inputs {
            let started = Instant::now();
            run(&input);
            assert!(started.elapsed() < Duration::from_secs(5), "{target} {name} took {:?}", started.elapsed());
        }
    }
}

/// Writes each target's seeds to `fuzz/corpus/<target>/` for libFuzzer
/// (`cargo test --test fuzz_corpus -- --ignored write_seed_corpora`).
#[test]
#[ignore]
fn write_seed_corpora() {
    for (target, _) in harness::TARGETS {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (i, seed) in harness::seeds(target).iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i}")), seed).unwrap();
        }
    }
}
