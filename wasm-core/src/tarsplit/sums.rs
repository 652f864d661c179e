//! The checks of many small file contents at once: their CRC-64 (what
//! tar-split records) and, when asked, their fs-verity digests (their
//! object IDs), so a host hashing a batch of files makes one call for all
//! of them instead of two per file.

use super::Crc64;
use crate::fsverity::{FileHasher, Params};

/// CRC-64 of each content, and its digest when `params` is given.
pub struct ContentSums {
    pub crc64s: Vec<u64>,
    /// The digests back to back (empty without `params`).
    pub digests: Vec<u8>,
}

/// `data` holds the contents back to back, `sizes` their lengths; `None`
/// when the lengths do not add up to `data`.
pub fn content_sums(data: &[u8], sizes: &[u64], params: Option<Params>) -> Option<ContentSums> {
    let mut sums = ContentSums { crc64s: Vec::with_capacity(sizes.len()), digests: Vec::new() };
    let mut at = 0usize;
    for &size in sizes {
        let end = usize::try_from(size).ok().and_then(|s| at.checked_add(s)).filter(|&e| e <= data.len())?;
        let content = &data[at..end];
        sums.crc64s.push(Crc64::checksum(content));
        if let Some(params) = params {
            let mut hasher = FileHasher::new(params);
            hasher.update(content);
            sums.digests.extend(hasher.finish());
        }
        at = end;
    }
    (at == data.len()).then_some(sums)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsverity::HashAlgorithm;

    #[test]
    fn each_content_gets_the_sums_of_the_single_calls() {
        let params = Params::new(HashAlgorithm::Sha512, 12).unwrap();
        let contents: [&[u8]; 4] = [b"", b"hello", &[7u8; 5000], b"x"];
        let data: Vec<u8> = contents.concat();
        let sizes: Vec<u64> = contents.iter().map(|c| c.len() as u64).collect();
        let sums = content_sums(&data, &sizes, Some(params)).unwrap();
        for (i, c) in contents.iter().enumerate() {
            assert_eq!(sums.crc64s[i], Crc64::checksum(c));
            let mut h = FileHasher::new(params);
            h.update(c);
            assert_eq!(&sums.digests[i * 64..(i + 1) * 64], &h.finish()[..]);
        }
        assert!(content_sums(&data, &sizes, None).unwrap().digests.is_empty());
    }

    #[test]
    fn sizes_that_do_not_add_up_are_refused() {
        assert!(content_sums(b"abc", &[2], None).is_none());
        assert!(content_sums(b"abc", &[4], None).is_none());
        assert!(content_sums(b"abc", &[u64::MAX, 4], None).is_none());
        assert!(content_sums(b"", &[], None).is_some());
    }
}
