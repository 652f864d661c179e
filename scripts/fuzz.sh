#!/usr/bin/env bash
# Fuzzes every parser of wasm-core with libFuzzer (cargo-fuzz), from seed
# corpora built out of the test vectors:
#   bash scripts/fuzz.sh               # each target for 60 s
#   bash scripts/fuzz.sh 600 tar       # only `tar`, for 10 minutes
# Needs rustup's nightly toolchain and cargo-fuzz (cargo install cargo-fuzz);
# the wasm build's Debian rustc is not used here. Building the targets takes
# minutes (address sanitizer, every dependency), too long for CI: CI runs the
# seeds, the regression inputs in wasm-core/fuzz/regressions/<target>/ and a
# fixed number of mutations through the same harness in `cargo test`
# (wasm-core/tests/fuzz_corpus.rs). A crash found here goes into
# fuzz/regressions/<target>/ with the fix.
set -euo pipefail
seconds=${1:-60}
shift || true
cd "$(dirname "$0")/../wasm-core"
export PATH="$HOME/.cargo/bin:$PATH"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then mapfile -t targets < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v cfskit-core-fuzz); fi
PATH=/usr/bin:$PATH RUSTC=/usr/bin/rustc cargo test --profile ci-test --quiet --test fuzz_corpus -- --ignored write_seed_corpora >/dev/null
cargo +nightly fuzz build -O
for t in "${targets[@]}"; do
  echo "fuzz: $t for ${seconds}s"
  cargo +nightly fuzz run -O "$t" "fuzz/corpus/$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 2>&1 | grep -E '^(Done [0-9]+ runs|#[0-9]+ +DONE|==[0-9]+==|SUMMARY|Test unit written)' || true
done
