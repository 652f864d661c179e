#![no_main]
//! libFuzzer target: see ../harness.rs (`selabel`).

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::selabel(data));
