//! The storage interface: a flat directory of named files and their open
//! handles.

use std::io;
use std::sync::Arc;

use bytes::Bytes;

/// A flat directory of named files: everything the spool and the rewind log
/// need from a file system, and nothing more.
///
/// Names are plain file names (no `/`). Implementations:
/// [`DirStorage`](super::DirStorage) (a real directory),
/// [`MemStorage`](super::MemStorage) (memory, with a crash model) and
/// [`FaultInjector`](super::FaultInjector) (fails chosen calls). All methods
/// may be called from several threads at once.
///
/// Durability is explicit: a file's contents (and length) are durable once
/// its [`StorageFile::sync`] returns; the directory's entries (a creation,
/// removal or rename) once [`sync_dir`](Self::sync_dir) returns. A new file
/// whose contents were synced but whose entry was not can vanish in a crash.
pub trait Storage: Send + Sync {
    /// The names of the files in the directory, in no particular order.
    fn list(&self) -> io::Result<Vec<String>>;
    /// Opens an existing file for reading and writing.
    fn open(&self, name: &str) -> io::Result<Arc<dyn StorageFile>>;
    /// Creates an empty file, replacing any file of that name.
    fn create(&self, name: &str) -> io::Result<Arc<dyn StorageFile>>;
    /// Removes a file. Handles already open stay usable.
    fn remove(&self, name: &str) -> io::Result<()>;
    /// Renames `from` to `to` atomically, replacing `to`.
    fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    /// Makes the directory's entries (creations, removals, renames) durable.
    fn sync_dir(&self) -> io::Result<()>;
    /// Bytes available to this process on the file system holding the directory.
    fn free_space(&self) -> io::Result<u64>;
}

/// One open file of a [`Storage`].
pub trait StorageFile: Send + Sync {
    /// The file's length in bytes.
    fn len(&self) -> io::Result<u64>;
    /// Whether the file is empty.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }
    /// Fills `buf` from `offset`; an error if the file ends first.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Writes all of `data` at `offset`, extending the file if needed.
    fn write_at(&self, offset: u64, data: &[u8]) -> io::Result<()>;
    /// Writes `bufs` one after the other from `offset`, as one
    /// [`write_at`](Self::write_at) of their concatenation would (a crash
    /// may keep any prefix of it). The default writes each in turn; real
    /// files gather them into few system calls, without copying.
    fn write_vectored_at(&self, offset: u64, bufs: &[&[u8]]) -> io::Result<()> {
        let mut at = offset;
        for buf in bufs {
            self.write_at(at, buf)?;
            at += buf.len() as u64;
        }
        Ok(())
    }
    /// Truncates or extends (with zeros) the file to `len` bytes.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// Makes the file's contents durable (`fdatasync`).
    fn sync(&self) -> io::Result<()>;
    /// Starts writing `len` bytes from `offset` to the medium without
    /// waiting for them, so that a later [`sync`](Self::sync) has less left
    /// to wait for. A hint only: nothing is durable before `sync` returns.
    /// The default does nothing.
    fn write_back(&self, offset: u64, len: u64) -> io::Result<()> {
        let _ = (offset, len);
        Ok(())
    }
    /// The first `len` bytes of a file that will not change any more, shared
    /// rather than copied where the medium allows (memory-mapped for real
    /// files). The default reads them into a new buffer.
    fn map(&self, len: u64) -> io::Result<Bytes> {
        let len = usize::try_from(len).map_err(|_| io::Error::other("file too large to map"))?;
        let mut buf = vec![0; len];
        self.read_at(0, &mut buf)?;
        Ok(buf.into())
    }
}
