use super::exports::cfskit::core::tarsplit as wit;
use super::errors::{malformed, wit_error};
use super::exports::cfskit::core::errors::Error as WitError;
use super::Core;
use crate::tarsplit::{Crc64, Record, RecordReader};
use std::cell::RefCell;

pub struct WitReader {
    inner: RefCell<RecordReader>,
}

fn entries(records: Vec<Record>) -> Vec<wit::Entry> {
    records
        .into_iter()
        .map(|r| match r {
            Record::Segment { position, payload } => wit::Entry::Segment(wit::SegmentEntry { position, payload }),
            Record::File { position, name, path, size, crc64 } => {
                wit::Entry::File(wit::FileEntry { position, name, path, size, crc64 })
            }
        })
        .collect()
}

impl wit::GuestReader for WitReader {
    fn create() -> wit::Reader {
        wit::Reader::new(Self { inner: RefCell::new(RecordReader::new()) })
    }

    fn push(&self, data: Vec<u8>) -> Result<Vec<wit::Entry>, WitError> {
        self.inner.borrow_mut().push(&data).map(entries).map_err(wit_error)
    }

    fn finish(&self) -> Result<Vec<wit::Entry>, WitError> {
        self.inner.borrow_mut().finish().map(entries).map_err(wit_error)
    }
}

pub struct WitCrc64 {
    inner: RefCell<Crc64>,
}

impl wit::GuestCrc64 for WitCrc64 {
    fn create() -> wit::Crc64 {
        wit::Crc64::new(Self { inner: RefCell::new(Crc64::new()) })
    }

    fn update(&self, data: Vec<u8>) {
        self.inner.borrow_mut().update(&data);
    }

    fn value(&self) -> u64 {
        self.inner.borrow().value()
    }
}

impl wit::Guest for Core {
    type Reader = WitReader;
    type Crc64 = WitCrc64;

    fn crc64_checksum(data: Vec<u8>) -> u64 {
        Crc64::checksum(&data)
    }

    fn content_sums(data: Vec<u8>, sizes: Vec<u64>, digest: Option<wit::Params>) -> Result<wit::FileSums, WitError> {
        let params = digest.map(super::fsverity::params).transpose()?;
        let sums = crate::tarsplit::content_sums(&data, &sizes, params)
            .ok_or_else(|| malformed(format!("content sums: the sizes do not add up to the {} bytes given", data.len())))?;
        Ok(wit::FileSums { crc64s: sums.crc64s, digests: sums.digests })
    }

    fn crc64_combine(crc_a: u64, crc_b: u64, length_b: u64) -> u64 {
        crate::tarsplit::crc64_combine(crc_a, crc_b, length_b)
    }
}
