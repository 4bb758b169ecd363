//! Output files of the file commands (`rha signature`, `delta`, `patch`,
//! `fixed-delta`): never the same file as an input, written to a temporary
//! file beside the target and renamed over it only on success, so a failed
//! run leaves an existing output as it was.

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
/// (Self::commit) and removed if dropped before.
#[derive(Debug)]
pub(crate) struct Output {
    path: PathBuf,
    tmp: PathBuf,
    file: File,
    committed: bool,
}

impl Output {
    /// Creates the temporary file in `path`'s directory.
    pub(crate) fn create(path: &Path) -> io::Result<Self> {
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
                        tmp,
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

    /// Renames the finished output over the target.
    pub(crate) fn commit(mut self) -> io::Result<()> {
        fs::rename(&self.tmp, &self.path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", self.path.display())))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}
