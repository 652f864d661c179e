#![no_main]
//! libFuzzer target: see ../harness.rs (`erofs_reader`).

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::erofs_reader(data));
