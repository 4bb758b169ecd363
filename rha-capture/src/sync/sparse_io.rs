//! Sparse-aware file I/O for block sync: [`SparseReader`] reads a file as
//! data pieces and holes (`SEEK_DATA`/`SEEK_HOLE`) without reading the
//! holes, [`SparseWriter`] writes a stream into a fresh file leaving its
//! zero runs as holes.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use rha_core::signature::block::PieceSource;

/// Bytes read from a file per step.
pub(crate) const CHUNK: usize = 4 << 20;
/// Zero runs at least this long (and aligned to it) become holes.
const HOLE: usize = 64 << 10;

/// Writes a stream at increasing offsets into a fresh (empty) file,
/// skipping all-zero pieces so holes stay holes; [`finish`](Self::finish)
/// sets the final length.
#[derive(Debug)]
pub struct SparseWriter<'a> {
    file: &'a File,
    pos: u64,
    /// Written in order with `write`, zeros included, nothing sought or
    /// truncated: for a pipe or a device.
    stream: bool,
}

impl<'a> SparseWriter<'a> {
    /// Writes to `file` from offset 0 (the file should be empty).
    pub fn new(file: &'a File) -> Self {
        Self {
            file,
            pos: 0,
            stream: false,
        }
    }

    /// Writes to `file` (a pipe, a device) in order, zeros as bytes: no
    /// holes, no length set at the end.
    pub fn stream(file: &'a File) -> Self {
        Self {
            file,
            pos: 0,
            stream: true,
        }
    }

    /// Appends `data`.
    pub fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        if self.stream {
            io::Write::write_all(&mut self.file, data)?;
            self.pos += data.len() as u64;
            return Ok(());
        }
        while !data.is_empty() {
            let to_boundary = HOLE - (self.pos % HOLE as u64) as usize;
            let n = to_boundary.min(data.len());
            let piece = &data[..n];
            // The file is fresh and written in order: skipped zeros read
            // back as zeros, and whole skipped pieces stay holes.
            if piece.iter().any(|&b| b != 0) {
                self.file.write_all_at(piece, self.pos)?;
            }
            self.pos += n as u64;
            data = &data[n..];
        }
        Ok(())
    }

    /// Skips `len` zero bytes: they stay a hole of the fresh file.
    pub fn skip(&mut self, len: u64) -> io::Result<()> {
        if self.stream {
            let zeros = [0u8; 64 << 10];
            let mut left = len;
            while left > 0 {
                let n = left.min(zeros.len() as u64) as usize;
                self.write(&zeros[..n])?;
                left -= n as u64;
            }
            return Ok(());
        }
        self.pos = self
            .pos
            .checked_add(len)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "file offset overflow"))?;
        Ok(())
    }

    /// Sets the file's length to what was written (materialising a
    /// trailing hole).
    pub fn finish(self) -> io::Result<u64> {
        if !self.stream {
            self.file.set_len(self.pos)?;
        }
        Ok(self.pos)
    }
}

/// A piece of a file read by [`SparseReader`]: bytes of a data range
/// (which may hold zeros too), or a hole's length (zeros, not read).
pub use rha_core::signature::block::Piece;

/// Reads a file from the start as data pieces and holes: the data ranges
/// `SEEK_DATA`/`SEEK_HOLE` report are read (a few MiB at a time), the
/// holes between them are only measured. Where the file system cannot tell
/// (or the lookup fails), the whole file is data and is read as usual.
#[derive(Debug)]
pub struct SparseReader<'a> {
    file: &'a File,
    len: u64,
    ranges: std::vec::IntoIter<(u64, u64)>,
    range: Option<(u64, u64)>,
    pos: u64,
    buf: Vec<u8>,
}

impl<'a> SparseReader<'a> {
    /// Reads the first `len` bytes of `file` (its length when opened).
    pub fn new(file: &'a File, len: u64) -> Self {
        Self::from_lookup(file, len, super::data_ranges(file, len))
    }

    /// Reads `file` as if only the data ranges `lookup` found (sorted,
    /// disjoint, within `len`) held data; all of it if the lookup failed.
    fn from_lookup(file: &'a File, len: u64, lookup: io::Result<Vec<(u64, u64)>>) -> Self {
        let mut ranges = lookup.unwrap_or_else(|_| vec![(0, len)]).into_iter();
        Self {
            file,
            len,
            range: ranges.next(),
            ranges,
            pos: 0,
            buf: Vec::new(),
        }
    }

    /// The next piece, or `None` at the end (early if the file turned out
    /// shorter than `len`: the job it feeds then reports the length).
    pub fn next_piece(&mut self) -> io::Result<Option<Piece<'_>>> {
        let (start, end) = self.range.unwrap_or((self.len, self.len));
        if self.pos < start {
            let n = start - self.pos;
            self.pos = start;
            return Ok(Some(Piece::Zeros(n)));
        }
        if self.pos >= end {
            if self.range.is_none() {
                return Ok(None);
            }
            self.range = self.ranges.next();
            return self.next_piece();
        }
        let want = usize::try_from(end - self.pos).unwrap_or(CHUNK).min(CHUNK);
        if self.buf.len() < want {
            self.buf.resize(want, 0);
        }
        let mut n = 0;
        while n < want {
            match FileExt::read_at(self.file, &mut self.buf[n..want], self.pos + n as u64) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if n == 0 {
            // The file shrank while being read.
            self.range = None;
            self.len = self.pos;
            return Ok(None);
        }
        self.pos += n as u64;
        Ok(Some(Piece::Data(&self.buf[..n])))
    }
}

/// Buffers [`read_ahead`] adds to the reader's own: while the caller works
/// on a piece in one, the reader reads the next into its own, and swaps
/// the two when the caller hands the first back; memory stays within one
/// piece (4 MiB) of a plain read.
const READ_AHEAD_SPARES: usize = 1;

/// Reads `file` (its first `len` bytes) as [`SparseReader`] does, on a
/// thread of its own that reads the next piece while `each` works on the
/// last one. `on_reader` sees each piece first, on the reading thread (work
/// that can run beside `each`'s). Stops at the first error of any of them
/// (a read error is turned into `E` by `read_err`).
pub(crate) fn read_ahead<E: Send>(
    file: &File,
    len: u64,
    read_err: impl FnOnce(io::Error) -> E + Send,
    mut on_reader: impl FnMut(Piece<'_>) -> Result<(), E> + Send,
    mut each: impl FnMut(Piece<'_>) -> Result<(), E>,
) -> Result<(), E> {
    use std::sync::mpsc::{channel, sync_channel};
    type Read<E> = Result<Option<(Vec<u8>, Result<usize, u64>)>, E>;
    let (full_tx, full) = sync_channel::<Read<E>>(READ_AHEAD_SPARES);
    let (free, free_rx) = channel::<Vec<u8>>();
    for _ in 0..READ_AHEAD_SPARES {
        let _ = free.send(Vec::new());
    }
    // `move`: the consumer's ends of the channels are dropped when it
    // returns, before the scope waits for the reader, which then stops.
    std::thread::scope(move |scope| {
        scope.spawn(move || {
            let mut reader = SparseReader::new(file, len);
            loop {
                // Read first (into the reader's own buffer), then wait for
                // the consumer to hand back a buffer to swap it with: the
                // read overlaps the consumer's work on the last piece.
                let piece = match reader.next_piece() {
                    Ok(piece) => piece,
                    Err(e) => {
                        let _ = full_tx.send(Err(read_err(e)));
                        return;
                    }
                };
                let read = match piece {
                    None => Ok(None),
                    Some(piece) => {
                        let shape = match piece {
                            Piece::Data(d) => Ok(d.len()),
                            Piece::Zeros(n) => Err(n),
                        };
                        match on_reader(piece) {
                            Err(e) => Err(e),
                            Ok(()) => match shape {
                                Err(n) => Ok(Some((Vec::new(), Err(n)))),
                                Ok(n) => {
                                    let Ok(mut spare) = free_rx.recv() else {
                                        return; // the consumer left
                                    };
                                    std::mem::swap(&mut reader.buf, &mut spare);
                                    Ok(Some((spare, Ok(n))))
                                }
                            },
                        }
                    }
                };
                let last = !matches!(read, Ok(Some(_)));
                if full_tx.send(read).is_err() || last {
                    return;
                }
            }
        });
        loop {
            let Ok(read) = full.recv() else {
                // The reader ended without a last message: it panicked,
                // and the scope raises that again.
                return Ok(());
            };
            match read? {
                None => return Ok(()),
                Some((buf, Ok(n))) => {
                    each(Piece::Data(&buf[..n]))?;
                    let _ = free.send(buf);
                }
                // A hole comes with no buffer: none goes back.
                Some((_, Err(zeros))) => each(Piece::Zeros(zeros))?,
            }
        }
    })
}

impl PieceSource for SparseReader<'_> {
    fn next_piece(&mut self) -> io::Result<Option<Piece<'_>>> {
        SparseReader::next_piece(self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

    use super::*;
    use std::fs;

    /// Reads everything `reader` gives: the bytes, with holes as zeros,
    /// and the bytes given as holes.
    fn read_all(mut reader: SparseReader<'_>) -> (Vec<u8>, u64) {
        let (mut out, mut holes) = (Vec::new(), 0);
        while let Some(piece) = reader.next_piece().unwrap() {
            match piece {
                Piece::Data(d) => out.extend_from_slice(d),
                Piece::Zeros(n) => {
                    out.resize(out.len() + n as usize, 0);
                    holes += n;
                }
            }
        }
        (out, holes)
    }

    #[test]
    fn a_failed_hole_lookup_reads_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let f = File::create(&path).unwrap();
        let len = 3 * CHUNK as u64;
        f.set_len(len).unwrap();
        f.write_all_at(b"head", 0).unwrap();
        f.write_all_at(b"tail", len - 4).unwrap();
        let f = File::open(&path).unwrap();
        let mut want = vec![0u8; len as usize];
        want[..4].copy_from_slice(b"head");
        want[len as usize - 4..].copy_from_slice(b"tail");

        // As on a file system without SEEK_DATA/SEEK_HOLE: dense.
        let unsupported = Err(io::Error::from_raw_os_error(libc::EINVAL));
        let (bytes, holes) = read_all(SparseReader::from_lookup(&f, len, unsupported));
        assert!(bytes == want);
        assert_eq!(holes, 0);

        // With the lookup: the same bytes, most of them never read.
        let (bytes, holes) = read_all(SparseReader::new(&f, len));
        assert!(bytes == want);
        assert!(holes >= len - 2 * 4096 || holes == 0, "{holes}");
    }

    #[test]
    fn a_file_that_shrank_ends_early() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, vec![7u8; 10_000]).unwrap();
        let f = File::open(&path).unwrap();
        let reader = SparseReader::from_lookup(&f, 20_000, Ok(vec![(0, 20_000)]));
        let (bytes, holes) = read_all(reader);
        assert_eq!((bytes.len(), holes), (10_000, 0));
    }
    #[test]
    fn read_ahead_gives_the_pieces_a_reader_gives_and_stops_on_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let f = File::create(&path).unwrap();
        let len = 5 * CHUNK as u64 + 12_345;
        f.set_len(len).unwrap();
        for (i, at) in [0, 2 * CHUNK as u64 + 99, len - 7].into_iter().enumerate() {
            f.write_all_at(&[i as u8 + 1; 7], at).unwrap();
        }
        let f = File::open(&path).unwrap();
        let (want, want_holes) = read_all(SparseReader::new(&f, len));
        let (mut got, mut holes, mut pieces) = (Vec::new(), 0, 0);
        let mut seen_first = 0u64;
        read_ahead(
            &f,
            len,
            |e| e,
            |piece| {
                seen_first += match piece {
                    Piece::Data(d) => d.len() as u64,
                    Piece::Zeros(n) => n,
                };
                Ok(())
            },
            |piece| {
                pieces += 1;
                match piece {
                    Piece::Data(d) => got.extend_from_slice(d),
                    Piece::Zeros(n) => {
                        got.resize(got.len() + n as usize, 0);
                        holes += n;
                    }
                }
                Ok(())
            },
        )
        .unwrap();
        assert!(got == want);
        assert_eq!(holes, want_holes);
        assert_eq!(seen_first, len);

        // The consumer's error ends the run at once (the reader, ahead of
        // it, is stopped and waited for).
        let mut seen = 0;
        let err = read_ahead(
            &f,
            len,
            |e| e,
            |_| Ok(()),
            |_| {
                seen += 1;
                Err(io::Error::other("stop here"))
            },
        )
        .unwrap_err();
        assert_eq!((err.to_string().as_str(), seen), ("stop here", 1));
        assert!(pieces >= 2, "{pieces}");

        // A read error reaches the caller through `read_err`.
        let dir_handle = File::open(dir.path()).unwrap();
        let err = read_ahead(
            &dir_handle,
            10,
            |e| format!("read: {e}"),
            |_| Ok(()),
            |_| Ok::<(), String>(()),
        )
        .unwrap_err();
        assert!(err.starts_with("read: "), "{err}");
        // An error of the reader's own work ends the run too.
        let err = read_ahead(
            &f,
            len,
            |e| e.to_string(),
            |_| Err("the hook failed".to_string()),
            |_| Ok(()),
        )
        .unwrap_err();
        assert_eq!(err, "the hook failed");
    }
}
