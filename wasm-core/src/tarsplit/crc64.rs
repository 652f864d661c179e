//! CRC-64 as tar-split computes it: Go's `hash/crc64` with the ISO table
//! (reflected polynomial 0xD800000000000000, all-ones initial value and
//! final xor), stored as 8 big-endian bytes. crc-catalog calls it
//! CRC-64/GO-ISO. A 16-way sliced table keeps it near memory speed.

use crc::{Crc, Digest, Table, CRC_64_GO_ISO};

static CRC64_GO_ISO: Crc<u64, Table<16>> = Crc::<u64, Table<16>>::new(&CRC_64_GO_ISO);

/// An incremental checksum of one file's content.
#[derive(Clone)]
pub struct Crc64 {
    digest: Digest<'static, u64, Table<16>>,
}

impl Default for Crc64 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc64 {
    pub fn new() -> Self {
        Self { digest: CRC64_GO_ISO.digest() }
    }

    pub fn update(&mut self, data: &[u8]) {
        self.digest.update(data);
    }

    /// The checksum of everything fed so far (the hasher stays usable).
    pub fn value(&self) -> u64 {
        self.digest.clone().finalize()
    }

    /// One-shot checksum of `data`.
    pub fn checksum(data: &[u8]) -> u64 {
        CRC64_GO_ISO.checksum(data)
    }
}

/// The CRC-64 of `a ‖ b` from the CRCs of `a` and `b` and the length of
/// `b`, as zlib's crc32_combine does for CRC-32: appending n zero bytes is
/// a linear map on the register (a 64×64 matrix over GF(2)), built by
/// repeated squaring. Lets hosts checksum ranges of a file on several
/// threads and join the results.
pub fn combine(crc_a: u64, crc_b: u64, len_b: u64) -> u64 {
    if len_b == 0 {
        return crc_a;
    }
    // The operator for one zero bit: shift right, fold in the reflected
    // polynomial when the low bit falls out.
    let mut odd = [0u64; 64];
    odd[0] = POLY_REFLECTED;
    for (n, row) in odd.iter_mut().enumerate().skip(1) {
        *row = 1 << (n - 1);
    }
    let mut even = [0u64; 64];
    square(&mut even, &odd); // two zero bits
    square(&mut odd, &even); // four zero bits
    let mut crc = crc_a;
    let mut len = len_b;
    loop {
        square(&mut even, &odd); // one zero byte, then 4, 16, ...
        if len & 1 == 1 {
            crc = times(&even, crc);
        }
        len >>= 1;
        if len == 0 {
            break;
        }
        square(&mut odd, &even);
        if len & 1 == 1 {
            crc = times(&odd, crc);
        }
        len >>= 1;
        if len == 0 {
            break;
        }
    }
    crc ^ crc_b
}

/// Go's crc64.ISO polynomial, bit-reversed (0x1B reflected to the top).
const POLY_REFLECTED: u64 = 0xD800_0000_0000_0000;

fn times(matrix: &[u64; 64], mut vector: u64) -> u64 {
    let mut sum = 0;
    let mut row = 0;
    while vector != 0 {
        if vector & 1 == 1 {
            sum ^= matrix[row];
        }
        vector >>= 1;
        row += 1;
    }
    sum
}

fn square(out: &mut [u64; 64], matrix: &[u64; 64]) {
    for (n, slot) in out.iter_mut().enumerate() {
        *slot = times(matrix, matrix[n]);
    }
}

#[cfg(test)]
mod combine_tests {
    use super::*;

    #[test]
    fn combined_equals_whole() {
        let data: Vec<u8> = (0..20000u32).map(|i| (i * 131 % 251) as u8).collect();
        for split in [0, 1, 7, 512, 4096, 12345, 19999, 20000] {
            let (a, b) = data.split_at(split);
            let joined = combine(Crc64::checksum(a), Crc64::checksum(b), b.len() as u64);
            assert_eq!(joined, Crc64::checksum(&data), "split at {split}");
        }
        let (a, rest) = data.split_at(3000);
        let (b, c) = rest.split_at(9000);
        let ab = combine(Crc64::checksum(a), Crc64::checksum(b), b.len() as u64);
        assert_eq!(combine(ab, Crc64::checksum(c), c.len() as u64), Crc64::checksum(&data));
    }
}
