//! The log's files: access by name over a [`Storage`], keeping each file's
//! handle open once used.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;

use crate::storage::{Storage, StorageFile};

/// The files of a rewind log. Durability is the caller's: a write lasts
/// once [`sync`](Self::sync) returns, a creation or removal once
/// [`sync_dir`](Self::sync_dir) does.
pub(crate) struct LogFiles<S> {
    storage: S,
    open: HashMap<String, Arc<dyn StorageFile>>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for LogFiles<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogFiles")
            .field("storage", &self.storage)
            .field("open", &self.open.keys())
            .finish()
    }
}

impl<S: Storage> LogFiles<S> {
    pub(crate) fn new(storage: S) -> Self {
        Self {
            storage,
            open: HashMap::new(),
        }
    }

    pub(crate) fn storage(&self) -> &S {
        &self.storage
    }

    pub(crate) fn list(&self) -> io::Result<Vec<String>> {
        self.storage.list()
    }

    /// The open handle of the existing file `name`.
    fn file(&mut self, name: &str) -> io::Result<Arc<dyn StorageFile>> {
        if let Some(f) = self.open.get(name) {
            return Ok(f.clone());
        }
        let f = self.storage.open(name)?;
        self.open.insert(name.to_owned(), f.clone());
        Ok(f)
    }

    /// Creates the empty file `name`, replacing any file of that name.
    pub(crate) fn create(&mut self, name: &str) -> io::Result<()> {
        self.open.remove(name);
        let f = self.storage.create(name)?;
        self.open.insert(name.to_owned(), f);
        Ok(())
    }

    pub(crate) fn len(&mut self, name: &str) -> io::Result<u64> {
        self.file(name)?.len()
    }

    pub(crate) fn read_at(&mut self, name: &str, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file(name)?.read_at(offset, buf)
    }

    pub(crate) fn write_at(&mut self, name: &str, offset: u64, data: &[u8]) -> io::Result<()> {
        self.file(name)?.write_at(offset, data)
    }

    pub(crate) fn write_vectored_at(
        &mut self,
        name: &str,
        offset: u64,
        bufs: &[&[u8]],
    ) -> io::Result<()> {
        self.file(name)?.write_vectored_at(offset, bufs)
    }

    pub(crate) fn set_len(&mut self, name: &str, len: u64) -> io::Result<()> {
        self.file(name)?.set_len(len)
    }

    pub(crate) fn sync(&mut self, name: &str) -> io::Result<()> {
        self.file(name)?.sync()
    }

    /// Starts writing a range of `name` back (see [`StorageFile::write_back`]).
    pub(crate) fn write_back(&mut self, name: &str, offset: u64, len: u64) -> io::Result<()> {
        self.file(name)?.write_back(offset, len)
    }

    pub(crate) fn sync_dir(&self) -> io::Result<()> {
        self.storage.sync_dir()
    }

    /// Removes `name` (not yet durably: see [`sync_dir`](Self::sync_dir)).
    pub(crate) fn remove(&mut self, name: &str) -> io::Result<()> {
        self.open.remove(name);
        self.storage.remove(name)
    }
}
