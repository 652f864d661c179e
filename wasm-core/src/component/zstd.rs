use super::errors::wit_error;
use super::exports::cfskit::core::errors::Error as WitError;
use super::exports::cfskit::core::zstd as wit;
use super::Core;
use crate::zstdstream::ZstdStream;
use std::cell::RefCell;

pub struct WitDecoder {
    inner: RefCell<ZstdStream>,
}

impl wit::GuestDecoder for WitDecoder {
    fn create() -> Result<wit::Decoder, WitError> {
        let stream = ZstdStream::new().map_err(wit_error)?;
        Ok(wit::Decoder::new(Self { inner: RefCell::new(stream) }))
    }

    fn feed(&self, data: Vec<u8>) {
        self.inner.borrow_mut().feed(&data);
    }

    fn read(&self, max: u32) -> Result<Vec<u8>, WitError> {
        self.inner.borrow_mut().read(max as usize).map_err(wit_error)
    }

    fn finish(&self) -> Result<(), WitError> {
        self.inner.borrow_mut().finish().map_err(wit_error)
    }
}

impl wit::Guest for Core {
    type Decoder = WitDecoder;
}
