use super::exports::cfskit::core::zstd as wit;
use super::Core;
use crate::zstdstream::ZstdStream;
use std::cell::RefCell;

pub struct WitDecoder {
    inner: RefCell<ZstdStream>,
}

impl wit::GuestDecoder for WitDecoder {
    fn create() -> Result<wit::Decoder, String> {
        let stream = ZstdStream::new().map_err(|e| e.to_string())?;
        Ok(wit::Decoder::new(Self { inner: RefCell::new(stream) }))
    }

    fn feed(&self, data: Vec<u8>) {
        self.inner.borrow_mut().feed(&data);
    }

    fn read(&self, max: u32) -> Result<Vec<u8>, String> {
        self.inner.borrow_mut().read(max as usize).map_err(|e| e.to_string())
    }

    fn finish(&self) -> Result<(), String> {
        self.inner.borrow_mut().finish().map_err(|e| e.to_string())
    }
}

impl wit::Guest for Core {
    type Decoder = WitDecoder;
}
