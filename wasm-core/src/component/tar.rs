use super::exports::cfskit::core::tar as wit;
use super::errors::wit_error;
use super::exports::cfskit::core::errors::Error as WitError;
use super::Core;
use crate::tar::{Entry, Event, Splitter};
use std::cell::RefCell;

pub struct WitSplitter {
    inner: RefCell<Splitter>,
}

fn entry(e: Entry) -> wit::Entry {
    wit::Entry {
        index: e.index,
        typeflag: e.typeflag,
        path: e.path,
        link_path: e.link_path,
        size: e.size,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        mtime: e.mtime,
        mtime_nsec: e.mtime_nsec,
        uname: e.uname,
        gname: e.gname,
        dev_major: e.dev_major,
        dev_minor: e.dev_minor,
        xattrs: e.xattrs.into_iter().map(|(name, value)| wit::Xattr { name, value }).collect(),
        header_offset: e.header_offset,
        content_offset: e.content_offset,
    }
}

fn event(e: Event) -> wit::Event {
    match e {
        Event::Inline(bytes) => wit::Event::Inline(bytes),
        Event::Entry(e) => wit::Event::Entry(entry(*e)),
        // Chunks crossing the boundary are lists of at most 4 GiB.
        Event::Content { start, len } => wit::Event::Content(wit::ContentRange { start: start as u32, len: len as u32 }),
        Event::End => wit::Event::End,
    }
}

impl wit::GuestSplitter for WitSplitter {
    fn create() -> wit::Splitter {
        wit::Splitter::new(Self { inner: RefCell::new(Splitter::new()) })
    }

    fn push(&self, data: Vec<u8>) -> Result<Vec<wit::Event>, WitError> {
        let events = self.inner.borrow_mut().push(&data).map_err(wit_error)?;
        Ok(events.into_iter().map(event).collect())
    }

    fn finish(&self) -> Result<(), WitError> {
        self.inner.borrow_mut().finish().map_err(wit_error)
    }

    fn content_remaining(&self) -> u64 {
        self.inner.borrow().content_remaining()
    }

    fn skip_content(&self, len: u64) -> Result<(), WitError> {
        self.inner.borrow_mut().skip_content(len).map_err(wit_error)
    }
}

impl wit::Guest for Core {
    type Splitter = WitSplitter;
}
