//! The two knobs of an fs-verity tree (hash algorithm, block size) and the
//! hash primitive behind each algorithm.

use super::error::Error;
use sha2::{Digest, Sha256, Sha512};

/// Hash algorithms by their kernel identifiers (`FS_VERITY_HASH_ALG_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlgorithm {
    Sha256 = 1,
    Sha512 = 2,
}

impl HashAlgorithm {
    pub fn from_kernel_id(id: u8) -> Option<Self> {
        match id {
            1 => Some(Self::Sha256),
            2 => Some(Self::Sha512),
            _ => None,
        }
    }

    pub fn kernel_id(self) -> u8 {
        self as u8
    }

    pub fn digest_size(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::Sha512 => "sha512",
        }
    }

    /// Hashes two equal-length blocks; SHA-512 on wasm SIMD does both at once.
    pub(crate) fn hash_pair(self, a: &[u8], b: &[u8], out_a: &mut [u8], out_b: &mut [u8]) {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        if self == Self::Sha512 {
            return super::sha512x2::sha512_x2(a, b, out_a, out_b);
        }
        self.hash_into(&[a], out_a);
        self.hash_into(&[b], out_b);
    }

    /// Hashes `parts` as one message, writing the digest to the front of `out`.
    pub(crate) fn hash_into(self, parts: &[&[u8]], out: &mut [u8]) {
        match self {
            Self::Sha256 => {
                let mut h = Sha256::new();
                parts.iter().for_each(|p| h.update(p));
                out[..32].copy_from_slice(&h.finalize());
            }
            Self::Sha512 => {
                let mut h = Sha512::new();
                parts.iter().for_each(|p| h.update(p));
                out[..64].copy_from_slice(&h.finalize());
            }
        }
    }
}

/// Block sizes the kernel accepts: powers of two from 1 KiB to 64 KiB.
pub const MIN_LG_BLOCK_SIZE: u8 = 10;
pub const MAX_LG_BLOCK_SIZE: u8 = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    algorithm: HashAlgorithm,
    lg_block_size: u8,
}


impl Params {
    pub fn new(algorithm: HashAlgorithm, lg_block_size: u8) -> Result<Self, Error> {
        if !(MIN_LG_BLOCK_SIZE..=MAX_LG_BLOCK_SIZE).contains(&lg_block_size) {
            return Err(Error::BlockSize(lg_block_size));
        }
        Ok(Self { algorithm, lg_block_size })
    }

    /// SHA-512 over 4 KiB blocks: what composefs repositories use by default.
    pub fn sha512_4k() -> Self {
        Self { algorithm: HashAlgorithm::Sha512, lg_block_size: 12 }
    }

    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    pub fn lg_block_size(&self) -> u8 {
        self.lg_block_size
    }

    pub fn block_size(&self) -> usize {
        1 << self.lg_block_size
    }

    pub fn digest_size(&self) -> usize {
        self.algorithm.digest_size()
    }

    /// How many child hashes one tree block holds.
    pub fn fan_out(&self) -> u64 {
        (self.block_size() / self.digest_size()) as u64
    }
}
