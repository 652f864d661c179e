#![no_main]
//! libFuzzer target: see ../harness.rs (`oci_layer`).

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::oci_layer(data));
