//! Output files of the file commands (`rha signature`, `delta`, `patch`,
//! `fixed-delta`): never the same file as an input, written to a temporary
//! file beside the target, flushed, and renamed over it only on success, so
//! a failed run (or a crash) leaves an existing output as it was. An output
//! that exists and is not a regular file (a pipe, `/dev/stdout`, a device)
//! is written to directly: renaming over it would replace the device or
//! the pipe with a file.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Refuses when `output` names the same file (device and inode, so `./F`,
/// a symlink or a hard link to an input are caught) as one of the opened
/// `inputs`; the message names both. A missing output is fine.
pub(crate) fn refuse_same_file(output: &Path, inputs: &[(&Path, &File)]) -> Result<(), String> {
    let out = match fs::metadata(output) {
        Ok(m) => m,
        Err(_) => return Ok(()),
    };
    for (path, file) in inputs {
        let Ok(input) = file.metadata() else { continue };
        if input.dev() == out.dev() && input.ino() == out.ino() {
            return Err(format!(
                "{} is the same file as the input {}; refusing to overwrite an input",
                output.display(),
                path.display()
            ));
        }
    }
    Ok(())
}

/// A temporary file beside the output, renamed over it by [`commit`]
/// (Self::commit) and removed if dropped before; or the output itself when
/// it is not a regular file.
#[derive(Debug)]
pub(crate) struct Output {
    path: PathBuf,
    /// The temporary file; `None` when writing to the output directly.
    tmp: Option<PathBuf>,
    file: File,
    committed: bool,
}

impl Output {
    /// Creates the temporary file in `path`'s directory, or opens `path`
    /// for writing if it exists and is not a regular file (or a directory,
    /// which is an error).
    pub(crate) fn create(path: &Path) -> io::Result<Self> {
        if let Ok(meta) = fs::metadata(path) {
            if !meta.is_file() && !meta.is_dir() {
                let file = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
                return Ok(Self {
                    path: path.to_path_buf(),
                    tmp: None,
                    file,
                    committed: false,
                });
            }
        }
        let name = path.file_name().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not a file name", path.display()),
            )
        })?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut attempt = 0u32;
        loop {
            let mut tmp_name = std::ffi::OsString::from(".");
            tmp_name.push(name);
            tmp_name.push(format!(".{}.{attempt}.rha-tmp", std::process::id()));
            let tmp = dir.join(tmp_name);
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&tmp)
            {
                Ok(file) => {
                    return Ok(Self {
                        path: path.to_path_buf(),
                        tmp: Some(tmp),
                        file,
                        committed: false,
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
                Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", tmp.display()))),
            }
        }
    }

    /// The temporary file, to write the output into.
    pub(crate) fn file(&self) -> &File {
        &self.file
    }

    /// Whether the output is written directly (it is not a regular
    /// file): its length says nothing about what was written.
    pub(crate) fn is_direct(&self) -> bool {
        self.tmp.is_none()
    }

    /// Makes the finished output durable and renames it over the target
    /// (nothing more for an output written directly).
    pub(crate) fn commit(mut self) -> io::Result<()> {
        let named =
            |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", self.path.display()));
        if let Some(tmp) = &self.tmp {
            // Durable before it replaces an earlier output: a crash leaves
            // the old output or the whole new one.
            self.file.sync_all().map_err(named)?;
            fs::rename(tmp, &self.path).map_err(named)?;
        }
        self.committed = true;
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if let (false, Some(tmp)) = (self.committed, &self.tmp) {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// A writer that counts the bytes it passes on (an output written directly
/// has no length to ask afterwards).
#[derive(Debug)]
pub(crate) struct Counted<W> {
    inner: W,
    bytes: u64,
}

impl<W: io::Write> Counted<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self { inner, bytes: 0 }
    }

    /// Bytes written so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }
}

impl<W: io::Write> io::Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
