#![no_main]
//! libFuzzer target: see ../harness.rs (`tarsplit`).

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::tarsplit(data));
