//! The WebAssembly component boundary: WIT types in, crate types out.
//! One file per WIT interface; no logic beyond conversion lives here.

mod composefs;
mod errors;
mod fsverity;
mod oci;
mod splitstream;
mod tar;
mod tarsplit;
mod zstd;

wit_bindgen::generate!({ world: "core", path: "wit" });

struct Core;

export!(Core);
