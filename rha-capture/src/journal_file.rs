//! Journal files on disk: scanning one end to end and classifying how it ends.

use std::fs::File;
use std::io;
use std::path::Path;

use rha_core::journal::{DecodeError, DecoderConfig, End, JournalReader, ReadError, Record};

/// How a scanned journal file ends.
#[derive(Debug)]
pub enum Outcome {
    /// Every byte belongs to a complete, valid frame.
    Clean {
        /// File length in bytes.
        len: u64,
    },
    /// The last frame is incomplete (a crash during an append); truncating
    /// the file to `offset` bytes keeps every complete record.
    TornTail {
        /// Length of the intact prefix.
        offset: u64,
        /// Bytes after it.
        tail_len: u64,
    },
    /// The file is damaged (or out of sequence) at the error's offset.
    Corrupt(DecodeError),
}

/// What [`scan`] found.
#[derive(Debug)]
pub struct Scan {
    /// Records decoded before the end or the damage.
    pub records: u64,
    /// Sequence number of the first record, if any.
    pub first_seq: Option<u64>,
    /// Sequence number of the last good record, if any.
    pub last_seq: Option<u64>,
    /// How the file ends.
    pub outcome: Outcome,
}

/// Reads the journal file at `path` from start to end, calling `on_record`
/// for each record in order, and reports how the file ends.
///
/// Only failures to open or read the file are `Err`; damage to its contents
/// is reported in [`Scan::outcome`]. The error names the path.
pub fn scan(
    path: &Path,
    config: DecoderConfig,
    mut on_record: impl FnMut(&Record),
) -> io::Result<Scan> {
    let name = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
    let file = File::open(path).map_err(name)?;
    if file.metadata().map_err(name)?.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: is a directory", path.display()),
        ));
    }
    let mut reader = JournalReader::new(file, config);
    let mut scan = Scan {
        records: 0,
        first_seq: None,
        last_seq: None,
        outcome: Outcome::Clean { len: 0 },
    };
    loop {
        match reader.next_record() {
            Ok(Some(record)) => {
                scan.records += 1;
                scan.first_seq.get_or_insert(record.seq);
                scan.last_seq = Some(record.seq);
                on_record(&record);
            }
            Ok(None) => break,
            Err(ReadError::Io(e)) => return Err(name(e)),
            Err(ReadError::Decode(e)) => {
                scan.outcome = Outcome::Corrupt(e);
                return Ok(scan);
            }
            Err(e) => return Err(name(io::Error::other(e))),
        }
    }
    scan.outcome = match reader.end() {
        Some(End::TornTail { offset, tail_len }) => Outcome::TornTail { offset, tail_len },
        Some(End::Clean { len }) => Outcome::Clean { len },
        None => Outcome::Clean {
            len: reader.decoder().offset(),
        },
    };
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rha_core::journal::{JournalWriter, Op};

    fn journal(n: u64) -> Vec<u8> {
        let mut w = JournalWriter::new(Vec::new(), Default::default());
        for i in 0..n {
            w.append(i, &Op::TxBegin { txid: i }).unwrap();
        }
        w.into_inner().unwrap()
    }

    #[test]
    fn classifies_clean_torn_and_corrupt_files() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("j");
        let bytes = journal(3);

        std::fs::write(&file, &bytes).unwrap();
        let mut seen = Vec::new();
        let s = scan(&file, Default::default(), |r| seen.push(r.seq)).unwrap();
        assert_eq!(seen, [1, 2, 3]);
        assert!(matches!(s.outcome, Outcome::Clean { len } if len == bytes.len() as u64));

        std::fs::write(&file, &bytes[..bytes.len() - 1]).unwrap();
        let s = scan(&file, Default::default(), |_| {}).unwrap();
        assert_eq!((s.records, s.last_seq), (2, Some(2)));
        assert!(
            matches!(
                s.outcome,
                Outcome::TornTail {
                    offset: 96,
                    tail_len: 39
                }
            ),
            "{s:?}"
        );

        let mut bad = bytes.clone();
        bad[20] ^= 4;
        std::fs::write(&file, &bad).unwrap();
        let s = scan(&file, Default::default(), |_| {}).unwrap();
        assert!(
            matches!(s.outcome, Outcome::Corrupt(ref e) if e.offset == 16),
            "{s:?}"
        );
    }

    #[test]
    fn io_errors_name_the_path() {
        let e = scan(Path::new("/nonexistent/j.rhaj"), Default::default(), |_| {}).unwrap_err();
        assert!(e.to_string().starts_with("/nonexistent/j.rhaj: "), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let e = scan(dir.path(), Default::default(), |_| {}).unwrap_err();
        assert!(e.to_string().ends_with("is a directory"), "{e}");
    }
}
