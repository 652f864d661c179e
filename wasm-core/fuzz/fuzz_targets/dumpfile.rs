#![no_main]
//! libFuzzer target: see ../harness.rs (`dumpfile`).

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::dumpfile(data));
