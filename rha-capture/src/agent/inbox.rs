//! An inbox directory of journal files: how producers in other processes
//! feed a running master agent's spool (until file-system capture does).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rha_core::journal::{DecoderConfig, End, JournalReader, Record};
use rha_core::spool::{AppendOptions, Spool, SpoolMode, WhenFull};

/// Journal files in an inbox end with this; others (a file being written
/// under another name, to be renamed in when complete) are left alone.
pub const INBOX_SUFFIX: &str = ".rhaj";

/// Why an inbox file could not be taken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InboxError {
    /// Listing, reading or removing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: io::Error,
    },
    /// The file is not a complete, intact journal.
    #[error("{}: {why}", path.display())]
    Journal {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The file's records do not continue the spool: a record is missing.
    #[error("{}: record {found} does not follow the spool's last record {last} (a journal file is missing)", path.display())]
    Gap {
        /// The file.
        path: PathBuf,
        /// The record found.
        found: u64,
        /// The spool's last record.
        last: u64,
    },
    /// The spool refused the records (full, failed).
    #[error("{}: spool: {why}", path.display())]
    Spool {
        /// The file.
        path: PathBuf,
        /// Why.
        why: String,
    },
}

/// Takes the journal files of `dir` (those ending in [`INBOX_SUFFIX`]) in
/// name order: appends each file's records to `spool` durably, skipping
/// records the spool already has (a crash between the append and the
/// removal), then removes the file. Returns the records appended.
///
/// Producers number their records (the journal writer's `first_seq`)
/// continuing the spool's last record, write each file under another
/// name and rename it into the inbox when complete, with names that sort
/// in order (for example the first sequence number, zero-padded). A file
/// that does not continue the spool, or is damaged, is left in place and
/// reported; nothing of it is appended.
///
/// When the spool is full its overflow policy applies: a stopped spool
/// refuses the file (it stays, and the error says why); a degraded spool
/// takes it, keeping only the regions its records change.
pub fn take_inbox(dir: &Path, spool: &Spool) -> Result<u64, InboxError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InboxError::Io { path, source }
    };
    let mut names: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(io_err(dir))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(INBOX_SUFFIX) && !n.starts_with('.'))
        })
        .collect();
    names.sort();
    let mut appended = 0;
    for path in names {
        // Two passes, so a file of any size costs one record of memory: the
        // first checks the whole file and where it continues the spool, the
        // second appends.
        let usage = spool.usage();
        let next = usage.next_seq;
        let degraded = matches!(usage.mode, SpoolMode::Degraded { .. });
        let mut first_fresh = None;
        each_record(&path, |r| {
            if first_fresh.is_none() && (degraded || r.seq >= next) {
                first_fresh = Some(r.seq);
            }
            Ok(())
        })?;
        if let Some(first) = first_fresh.filter(|_| !degraded) {
            if first != next {
                return Err(InboxError::Gap {
                    path,
                    found: first,
                    last: next.saturating_sub(1),
                });
            }
        }
        let opts = AppendOptions::no_wait().when_full(WhenFull::Overflow);
        let mut count = 0u64;
        each_record(&path, |r| {
            if !degraded && r.seq < next {
                return Ok(());
            }
            // A degraded spool numbers nothing: it keeps the regions the
            // records change, whatever their numbers.
            let appended = if matches!(spool.usage().mode, SpoolMode::Degraded { .. }) {
                spool.append(r.timestamp_ns, &r.op, opts)
            } else {
                spool.append_record(&r, opts)
            };
            appended.map_err(|e| InboxError::Spool {
                path: path.clone(),
                why: e.to_string(),
            })?;
            count += 1;
            Ok(())
        })?;
        spool.sync().map_err(|e| InboxError::Spool {
            path: path.clone(),
            why: e.to_string(),
        })?;
        appended += count;
        fs::remove_file(&path).map_err(io_err(&path))?;
        tracing::debug!(file = %path.display(), records = count, "inbox file taken");
    }
    if appended > 0 {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(io_err(dir))?;
    }
    Ok(appended)
}

/// Calls `each` with every record of the journal file at `path`, in order,
/// after which the journal must end cleanly.
fn each_record(
    path: &Path,
    mut each: impl FnMut(Record) -> Result<(), InboxError>,
) -> Result<(), InboxError> {
    let file = fs::File::open(path).map_err(|source| InboxError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut magic = [0u8; 8];
    let n = std::os::unix::fs::FileExt::read_at(&file, &mut magic, 0).map_err(|source| {
        InboxError::Io {
            path: path.to_path_buf(),
            source,
        }
    })?;
    let header = n == magic.len() && magic == rha_core::journal::STREAM_MAGIC;
    let mut reader = JournalReader::new(
        io::BufReader::new(file),
        DecoderConfig::default().stream_header(header),
    );
    let damaged = |why: String| InboxError::Journal {
        path: path.to_path_buf(),
        why,
    };
    loop {
        match reader.next_record() {
            Ok(Some(r)) => each(r)?,
            Ok(None) => {
                return match reader.end() {
                    Some(End::Clean { .. }) => Ok(()),
                    _ => Err(damaged(
                        "the journal ends inside a record (incomplete or damaged)".to_owned(),
                    )),
                }
            }
            Err(e) => return Err(damaged(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rha_core::journal::{JournalWriter, Op, WriterConfig};
    use rha_core::spool::SpoolConfig;

    fn journal(dir: &Path, name: &str, seqs: std::ops::Range<u64>) {
        let mut w = JournalWriter::new(Vec::new(), WriterConfig::default().first_seq(seqs.start));
        for s in seqs {
            w.append(s, &Op::TxBegin { txid: s }).expect("append");
        }
        fs::write(dir.join(name), w.into_inner().expect("bytes")).expect("write");
    }

    #[test]
    fn files_are_taken_in_order_once_and_a_gap_stops_the_inbox() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let inbox = tmp.path().join("inbox");
        fs::create_dir(&inbox).expect("mkdir");
        let (spool, _) =
            Spool::open_dir(tmp.path().join("spool"), SpoolConfig::default()).expect("spool");
        journal(&inbox, "0001.rhaj", 1..11);
        journal(&inbox, "0011.rhaj", 11..21);
        journal(&inbox, "0021.rhaj.part", 21..31);
        assert_eq!(take_inbox(&inbox, &spool).expect("take"), 20);
        assert_eq!(spool.usage().durable_next_seq, 21);
        assert!(inbox.join("0021.rhaj.part").exists(), "not ours yet");
        // A file taken again after a crash before its removal: its records
        // are skipped, the new ones appended.
        journal(&inbox, "0015.rhaj", 15..26);
        assert_eq!(take_inbox(&inbox, &spool).expect("take"), 5);
        assert_eq!(spool.usage().durable_next_seq, 26);
        // A gap: reported, the file kept, nothing appended.
        journal(&inbox, "0030.rhaj", 30..35);
        let e = take_inbox(&inbox, &spool).expect_err("gap");
        assert!(
            matches!(
                e,
                InboxError::Gap {
                    found: 30,
                    last: 25,
                    ..
                }
            ),
            "{e}"
        );
        assert!(inbox.join("0030.rhaj").exists());
        assert_eq!(spool.usage().next_seq, 26);
        // A damaged file: reported, kept.
        fs::remove_file(inbox.join("0030.rhaj")).expect("rm");
        fs::write(inbox.join("0026.rhaj"), b"garbage that is no journal").expect("write");
        let e = take_inbox(&inbox, &spool).expect_err("damaged");
        assert!(e.to_string().contains("0026.rhaj"), "{e}");
        assert_eq!(spool.usage().next_seq, 26);
    }
}
