//! The `rewind_open` target: a rewind log whose state slots, segments and
//! redo file hold untrusted bytes, opened.

use rha_core::rewind::{
    LogConfig, LogError, ModelTree, Replica, ReplicaConfig, RewindLog, REDO_FILE, SEGMENT_PREFIX,
    SEGMENT_SUFFIX, STATE_FILE,
};
use rha_core::testing::storage::MemStorage;

fn segment(first_log_seq: u64) -> String {
    format!("{SEGMENT_PREFIX}{first_log_seq:020}{SEGMENT_SUFFIX}")
}

fn model() -> ModelTree {
    let mut m = ModelTree::new();
    m.add_volume(0, 128);
    m
}

fn config() -> ReplicaConfig {
    ReplicaConfig::default()
        .segment_bytes(256)
        .checkpoint_ops(2)
        .elide_min(3)
}

/// `rewind_open`: files, each a kind byte (0: the state file, 1: the redo
/// file, otherwise a segment whose first log sequence number is the kind
/// byte less 2), a u16 LE length and the contents.
///
/// Checks: [`RewindLog::open`] does not panic; an error names one of the
/// files put there and, for damage, an offset inside it; a log that opens
/// lists its points in order and answers for its bookmarks, and a [`Replica`] opens on it
/// without panicking, and rewinding it to its oldest point and undoing
/// that either works or fails cleanly.
pub fn rewind_open(data: &[u8]) {
    let storage = MemStorage::new();
    let mut files: Vec<(String, usize)> = Vec::new();
    let mut rest = data;
    while let [kind, a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*a, *b])).min(tail.len());
        let name = match kind {
            0 => STATE_FILE.to_owned(),
            1 => REDO_FILE.to_owned(),
            k => segment(u64::from(*k) - 2),
        };
        storage.put(&name, tail[..len].to_vec());
        files.retain(|f| f.0 != name);
        files.push((name, len));
        rest = &tail[len..];
    }
    let len_of = |file: &str| {
        files
            .iter()
            .find(|f| f.0 == file)
            .unwrap_or_else(|| panic!("an error names {file:?}, a file never written"))
            .1 as u64
    };
    match RewindLog::open(storage.clone(), LogConfig::default()) {
        Ok(log) => {
            let points = log.points();
            let _ = (log.bookmarks(), log.total_bytes(), log.entry_count());
            assert!(
                points.windows(2).all(|w| w[0].seq < w[1].seq),
                "points out of order: {points:?}"
            );
        }
        Err(LogError::Corrupt { file, offset, .. }) => {
            let len = len_of(&file);
            assert!(
                offset <= len,
                "offset {offset} past the end of {file} ({len} bytes)"
            );
            return;
        }
        Err(LogError::Decode { file, source }) => {
            let len = len_of(&file);
            assert!(
                source.offset <= len,
                "offset {} past the end of {file} ({len} bytes)",
                source.offset
            );
            return;
        }
        Err(e) => panic!("opening failed without naming damage: {e}"),
    }
    let Ok(mut r) = Replica::open(model(), storage, config()) else {
        return;
    };
    let _ = (r.points(), r.bookmarks(), r.current_point());
    if let Some(oldest) = r.log().and_then(|l| l.oldest_point()) {
        if r.rewind_to(oldest).is_ok() {
            let _ = r.undo_rewind();
        }
    }
}

#[cfg(test)]
pub(crate) mod seeds {
    use bytes::Bytes;
    use rha_core::journal::{Op, Record, RelPath};
    use rha_core::rewind::{Replica, REDO_FILE, SEGMENT_PREFIX, SEGMENT_SUFFIX, STATE_FILE};
    use rha_core::storage::Storage;
    use rha_core::testing::storage::MemStorage;

    fn path(p: &str) -> RelPath {
        RelPath::new(p.to_owned()).expect("valid path")
    }

    /// The files of a real log after `n` records, a bookmark and (if
    /// `rewind`) a rewind, as input.
    fn real(n: u64, rewind: bool) -> Vec<u8> {
        let mem = MemStorage::new();
        let mut r = Replica::open(super::model(), mem.clone(), super::config()).expect("opens");
        let ops = [
            Op::Mkdir {
                path: path("d"),
                mode: 0o755,
            },
            Op::Create {
                path: path("d/a"),
                mode: 0o644,
            },
            Op::Write {
                path: path("d/a"),
                offset: 0,
                data: Bytes::from_static(b"hello rewind"),
            },
            Op::SetLen {
                path: path("d/a"),
                len: 4,
            },
            Op::Create {
                path: path("b"),
                mode: 0o600,
            },
            Op::Rename {
                from: path("b"),
                to: path("c"),
            },
            Op::BlockWrite {
                volume: 0,
                offset: 8,
                data: Bytes::from_static(b"blocks"),
            },
            Op::Delete { path: path("c") },
        ];
        for seq in 1..=n {
            let op = ops[(seq as usize - 1) % ops.len()].clone();
            r.apply(Record {
                seq,
                timestamp_ns: seq * 1000,
                op,
            })
            .expect("applies");
            r.flush().expect("flushes");
            if seq == 2 {
                r.set_bookmark("two", 2, false).expect("bookmark");
            }
        }
        if rewind {
            r.rewind_to(n / 2).expect("rewinds");
        }
        r.sync().expect("syncs");
        let mut v = Vec::new();
        for name in Storage::list(&mem).expect("lists") {
            let kind = if name == STATE_FILE {
                0
            } else if name == REDO_FILE {
                1
            } else if let Some(seq) = name
                .strip_prefix(SEGMENT_PREFIX)
                .and_then(|s| s.strip_suffix(SEGMENT_SUFFIX))
                .and_then(|s| s.parse::<u64>().ok())
            {
                match u8::try_from(seq + 2) {
                    Ok(k) => k,
                    Err(_) => continue,
                }
            } else {
                continue;
            };
            let bytes = mem.contents(&name).expect("listed");
            v.push(kind);
            v.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
            v.extend_from_slice(&bytes);
        }
        v
    }

    /// (name, input) pairs: real logs and damaged copies.
    pub(crate) fn seeds() -> Vec<(String, Vec<u8>)> {
        let mut out = vec![
            ("empty".to_owned(), Vec::new()),
            ("one-record".to_owned(), real(1, false)),
            ("several-segments".to_owned(), real(8, false)),
            ("rewound".to_owned(), real(8, true)),
        ];
        let base = real(8, true);
        let mut torn = base.clone();
        torn.truncate(base.len() - 5);
        out.push(("torn".into(), torn));
        let mut flipped = base;
        let n = flipped.len();
        flipped[n / 2] ^= 0x20;
        out.push(("damaged".into(), flipped));
        out.push((
            "state-garbage".into(),
            [&[0u8, 64, 0][..], &[0x5a; 64]].concat(),
        ));
        out.push((
            "redo-garbage".into(),
            [&[1u8, 16, 0][..], &[0x5a; 16]].concat(),
        ));
        out
    }
}
