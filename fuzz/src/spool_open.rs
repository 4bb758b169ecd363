//! The `spool_open` target: a spool directory whose state file, dirty-region
//! file and segments hold untrusted bytes, opened.

use std::sync::Arc;

use bytes::Bytes;
use rha_core::journal::{Op, RelPath};
use rha_core::spool::{
    segment_name, AppendOptions, OpenError, Spool, SpoolConfig, DIRTY_FILE, STATE_FILE,
};
use rha_core::testing::storage::MemStorage;

/// `spool_open`: byte 0 is a control byte (bit 0: salvage mode), then
/// files, each a kind byte (0: `state`, 1: `dirty`, otherwise a segment
/// whose first sequence number is the kind byte less 1), a u16 LE length
/// and the contents.
///
/// Checks: [`Spool::open`] does not panic; a corruption error names one of
/// the files put there (or the state file, missing) and an offset inside
/// it; a spool that opens is
/// usable: everything from the resume point reads back in order, one more
/// record appends durably, and after closing it reopens with that record
/// last.
pub fn spool_open(data: &[u8]) {
    let Some((&control, mut rest)) = data.split_first() else {
        return;
    };
    let storage = MemStorage::new();
    let mut files: Vec<(String, usize)> = Vec::new();
    while let [kind, a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*a, *b])).min(tail.len());
        let name = match kind {
            0 => STATE_FILE.to_owned(),
            1 => DIRTY_FILE.to_owned(),
            k => segment_name(u64::from(*k) - 1),
        };
        storage.put(&name, tail[..len].to_vec());
        files.retain(|f| f.0 != name);
        files.push((name, len));
        rest = &tail[len..];
    }
    let config = SpoolConfig::default()
        .min_free_bytes(0)
        .segment_bytes(256)
        .salvage(control & 1 == 1);
    let (spool, rec) = match Spool::open(Arc::new(storage.clone()), config.clone()) {
        Ok(s) => s,
        Err(OpenError::Corrupt(c)) => {
            // A missing state file is named at offset 0.
            let len = files.iter().find(|f| f.0 == c.file).map_or(0, |f| f.1);
            assert!(
                files.iter().any(|f| f.0 == c.file) || c.file == STATE_FILE,
                "corruption in {:?}, a file never written",
                c.file
            );
            assert!(
                c.offset <= len as u64,
                "offset {} past the end of {} ({len} bytes)",
                c.offset,
                c.file
            );
            return;
        }
        Err(e) => panic!("opening failed without naming damage: {e}"),
    };
    assert!(
        rec.resume_seq <= rec.next_seq,
        "resume past the end: {rec:?}"
    );
    let mut expect = rec.resume_seq;
    for r in spool
        .read_from(rec.resume_seq)
        .expect("reading from the resume point")
    {
        let r = r.unwrap_or_else(|e| panic!("reading what opened: {e}"));
        assert_eq!(r.seq, expect, "out of order");
        expect += 1;
    }
    assert_eq!(
        expect, rec.next_seq,
        "records missing before the next sequence number"
    );
    let op = Op::Write {
        path: RelPath::new(Bytes::from_static(b"f")).expect("valid path"),
        offset: 0,
        data: Bytes::from_static(b"appended after open"),
    };
    let t = spool
        .append(1, &op, AppendOptions::default().durable(true))
        .expect("appending to a spool that opened");
    assert_eq!(t.seq, Some(rec.next_seq));
    spool.close().expect("closing");
    let (again, rec2) =
        Spool::open(Arc::new(storage), config).unwrap_or_else(|e| panic!("reopening: {e}"));
    assert_eq!(
        rec2.next_seq,
        rec.next_seq + 1,
        "the appended record is gone"
    );
    let last = again
        .read_from(rec.next_seq.max(rec2.resume_seq))
        .expect("reading the appended record")
        .last()
        .expect("the appended record reads back")
        .expect("the appended record decodes");
    assert_eq!(last.op, op);
}

#[cfg(test)]
pub(crate) mod seeds {
    use std::sync::Arc;

    use bytes::Bytes;
    use rha_core::journal::{Op, RelPath};
    use rha_core::spool::{AppendOptions, Spool, SpoolConfig, DIRTY_FILE, STATE_FILE};
    use rha_core::storage::Storage;
    use rha_core::testing::storage::MemStorage;

    /// The files of a real spool after some appends, acknowledgements and
    /// (if `overflow`) a spell of dirty regions, as input.
    fn real(records: u64, ack: u64) -> Vec<u8> {
        let storage = MemStorage::new();
        let config = SpoolConfig::default().min_free_bytes(0).segment_bytes(256);
        let (spool, _) = Spool::open(Arc::new(storage.clone()), config).expect("opens");
        for n in 0..records {
            let op = Op::Write {
                path: RelPath::new(Bytes::from(format!("f{}", n % 3))).expect("valid path"),
                offset: n * 10,
                data: Bytes::from(vec![n as u8; 40]),
            };
            spool
                .append(n, &op, AppendOptions::default().durable(true))
                .expect("append");
        }
        if ack > 0 {
            spool.ack(ack).expect("ack");
        }
        spool.close().expect("close");
        let mut v = vec![0u8];
        for name in Storage::list(&storage).expect("lists") {
            let kind = if name == STATE_FILE {
                0
            } else if name == DIRTY_FILE {
                1
            } else if let Some(seq) = rha_core::spool::parse_segment_name(&name) {
                match u8::try_from(seq + 1) {
                    Ok(k) if k >= 2 => k,
                    _ => continue,
                }
            } else {
                continue;
            };
            let bytes = storage.contents(&name).expect("listed");
            v.push(kind);
            v.extend_from_slice(&(bytes.len() as u16).to_le_bytes());
            v.extend_from_slice(&bytes);
        }
        v
    }

    /// (name, input) pairs: real spools, and damaged copies of them.
    pub(crate) fn seeds() -> Vec<(String, Vec<u8>)> {
        let mut out = vec![
            ("empty".to_owned(), vec![0u8]),
            ("one-record".to_owned(), real(1, 0)),
            ("several-segments".to_owned(), real(12, 0)),
            ("acknowledged".to_owned(), real(12, 5)),
        ];
        let base = real(12, 5);
        let mut torn = base.clone();
        torn.truncate(base.len() - 7);
        out.push(("torn-tail".into(), torn));
        let mut flipped = base.clone();
        let n = flipped.len();
        flipped[n - 30] ^= 0x40;
        out.push(("damaged-last-segment".into(), flipped.clone()));
        flipped[0] = 1;
        out.push(("damaged-salvage".into(), flipped));
        out.push((
            "state-garbage".into(),
            vec![
                0, 0, 40, 0, 0x89, b'R', b'H', b'A', b'S', b'P', b'S', b'\n', 1, 0,
            ],
        ));
        out.push((
            "dirty-garbage".into(),
            vec![
                0, 1, 12, 0, 0x89, b'R', b'H', b'A', b'S', b'P', b'D', b'\n', 1, 0, 0, 0,
            ],
        ));
        out
    }
}
