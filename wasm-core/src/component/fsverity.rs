use super::exports::cfskit::core::fsverity as wit;
use super::errors::wit_error;
use super::exports::cfskit::core::errors::Error as WitError;
use super::Core;
use crate::fsverity::{digest_from_entries, FileHasher, HashAlgorithm, Params, RangeHasher};
use std::cell::RefCell;

impl From<wit::HashAlgorithm> for HashAlgorithm {
    fn from(alg: wit::HashAlgorithm) -> Self {
        match alg {
            wit::HashAlgorithm::Sha256 => Self::Sha256,
            wit::HashAlgorithm::Sha512 => Self::Sha512,
        }
    }
}

pub(super) fn params(p: wit::Params) -> Result<Params, WitError> {
    Params::new(p.algorithm.into(), p.lg_block_size).map_err(wit_error)
}

/// Resources are shared references across the boundary; the hashers live in
/// a RefCell and are replaced by a fresh one when finished.
pub struct WitFileHasher {
    params: Params,
    inner: RefCell<FileHasher>,
}

impl wit::GuestFileHasher for WitFileHasher {
    fn create(p: wit::Params) -> Result<wit::FileHasher, WitError> {
        let params = params(p)?;
        Ok(wit::FileHasher::new(Self { params, inner: RefCell::new(FileHasher::new(params)) }))
    }

    fn update(&self, data: Vec<u8>) {
        self.inner.borrow_mut().update(&data);
    }

    fn finish(&self) -> Vec<u8> {
        self.inner.replace(FileHasher::new(self.params)).finish()
    }
}

pub struct WitRangeHasher {
    params: Params,
    height: u8,
    inner: RefCell<RangeHasher>,
}

impl wit::GuestRangeHasher for WitRangeHasher {
    fn create(p: wit::Params, height: u8) -> Result<wit::RangeHasher, WitError> {
        let params = params(p)?;
        let inner = RangeHasher::new(params, height).map_err(wit_error)?;
        Ok(wit::RangeHasher::new(Self { params, height, inner: RefCell::new(inner) }))
    }

    fn update(&self, data: Vec<u8>) {
        self.inner.borrow_mut().update(&data);
    }

    fn take_entries(&self) -> Vec<u8> {
        self.inner.borrow_mut().take_entries()
    }

    fn finish(&self) -> Vec<u8> {
        let fresh = RangeHasher::new(self.params, self.height).expect("height was validated at creation");
        self.inner.replace(fresh).finish()
    }
}

impl wit::Guest for Core {
    type FileHasher = WitFileHasher;
    type RangeHasher = WitRangeHasher;

    fn digest(p: wit::Params, data: Vec<u8>) -> Result<Vec<u8>, WitError> {
        let mut hasher = FileHasher::new(params(p)?);
        hasher.update(&data);
        Ok(hasher.finish())
    }

    fn digest_from_entries(p: wit::Params, height: u8, data_size: u64, entries: Vec<u8>) -> Result<Vec<u8>, WitError> {
        digest_from_entries(params(p)?, height, data_size, &entries).map_err(wit_error)
    }
}
