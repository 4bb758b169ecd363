//! `spool_append_journal`: journal bytes from an untrusted capture source
//! appended to a spool in one call ([`Spool::append_journal`]).
//!
//! Input: a control byte, then pieces, each a little-endian `u16` length
//! and that many bytes; every piece is one `append_journal` call on the
//! same spool. Bit 0 of the control byte bounds the spool (`max_bytes`
//! 4 KiB, failing when full) so that full spools are reached too.
//!
//! Checked: a call that fails changes nothing (the next sequence number
//! and the records read back stay as they were); a call that succeeds
//! appends exactly the records it reports, numbered on from the spool's
//! next one, and reading the spool back yields every appended record in
//! order with its operation intact, and its stored frames
//! ([`SpoolReader::next_frame`], what a master forwards) decode to the
//! same records. Never a panic, whatever the bytes.
//!
//! [`SpoolReader::next_frame`]: rha_core::spool::SpoolReader::next_frame

use std::sync::Arc;

use rha_core::journal::{Decoder, DecoderConfig, End, Record, STREAM_MAGIC};
use rha_core::spool::{AppendOptions, Spool, SpoolConfig, WhenFull};
use rha_core::testing::storage::MemStorage;

/// The records of `bytes` when the whole journal decodes, as the spool
/// decodes it.
fn decode(bytes: &[u8], max_record_size: usize) -> Option<Vec<Record>> {
    let header = bytes.starts_with(&STREAM_MAGIC);
    let mut dec = Decoder::new(
        DecoderConfig::default()
            .stream_header(header)
            .max_record_size(max_record_size),
    );
    dec.feed(bytes);
    let mut out = Vec::new();
    while let Some(r) = dec.next_record().ok()? {
        out.push(r);
    }
    match dec.finish().ok()? {
        End::Clean { .. } => Some(out),
        _ => None,
    }
}

/// The libFuzzer body (see the module documentation).
pub fn spool_append_journal(data: &[u8]) {
    let Some((&control, mut rest)) = data.split_first() else {
        return;
    };
    let mut config = SpoolConfig::default().min_free_bytes(0).segment_bytes(1024);
    if control & 1 == 1 {
        config = config.max_bytes(Some(4096));
    }
    let max_record_size = config.max_record_size;
    let (spool, _) =
        Spool::open(Arc::new(MemStorage::new()), config).expect("an empty spool in memory opens");
    let opts = AppendOptions::default().when_full(WhenFull::Fail);
    let mut appended: Vec<Record> = Vec::new();
    while let [a, b, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*a, *b])).min(tail.len());
        let (piece, after) = tail.split_at(len);
        rest = after;
        let next = spool.usage().next_seq;
        match spool.append_journal(piece, opts) {
            Ok(done) => {
                assert_eq!(
                    done.first_seq, next,
                    "the records number on from the spool's next"
                );
                assert_eq!(
                    spool.usage().next_seq,
                    next + done.records,
                    "the spool grew by the records reported"
                );
                let records =
                    decode(piece, max_record_size).expect("bytes the spool took decode whole");
                assert_eq!(records.len() as u64, done.records);
                appended.extend(records);
            }
            Err(_) => assert_eq!(spool.usage().next_seq, next, "a failed call appended"),
        }
    }
    let read: Vec<Record> = spool
        .read_from(1)
        .expect("reading from the start")
        .map(|r| r.expect("an appended record reads back"))
        .collect();
    assert_eq!(read.len(), appended.len(), "records read back");
    for (got, want) in read.iter().zip(&appended) {
        assert_eq!(got.seq, want.seq);
        assert_eq!(got.op, want.op, "record {}", want.seq);
    }
    // The stored frames, as a master forwards them, are those records.
    let mut reader = spool.read_from(1).expect("reading from the start");
    let mut frames = Vec::new();
    while let Some(f) = reader.next_frame().expect("a stored frame reads back") {
        frames.extend_from_slice(&f.bytes());
    }
    let forwarded = decode(&frames, max_record_size).expect("forwarded frames decode whole");
    assert_eq!(forwarded, read, "the frames hold the records read back");
}
