//! Golden files pin version 1 of the journal format: the bytes under
//! `tests/data/` must keep decoding to the same records, and the plain
//! encoding must stay byte-for-byte identical.
//!
//! Regenerate (only when adding a golden file, never to paper over a change):
//! `RHA_BLESS=1 cargo test -p rha-tests --test golden`.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::PathBuf;

use rha_core::journal::{
    Compression, DecodeErrorKind, Decoder, DecoderConfig, End, Record, WriterConfig,
};
use rha_tests::{encode_golden, golden_journal, golden_node_ops, golden_ops, golden_timestamp};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("data")
        .join(name)
}

fn read_or_bless(name: &str, fresh: &[u8]) -> Vec<u8> {
    let file = data(name);
    if std::env::var_os("RHA_BLESS").is_some() {
        std::fs::write(&file, fresh).unwrap();
    }
    std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn expected() -> Vec<Record> {
    records(golden_ops())
}

fn records(ops: Vec<rha_core::journal::Op>) -> Vec<Record> {
    ops.into_iter()
        .enumerate()
        .map(|(i, op)| Record {
            seq: 100 + i as u64,
            timestamp_ns: golden_timestamp(i),
            op,
        })
        .collect()
}

fn decode(bytes: &[u8]) -> (Vec<Record>, End) {
    let mut d = Decoder::new(DecoderConfig::default());
    d.feed(bytes);
    let mut out = Vec::new();
    while let Some(r) = d.next_record().unwrap() {
        out.push(r);
    }
    (out, d.finish().unwrap())
}

#[test]
fn plain_v1_decodes_and_reencodes_identically() {
    let fresh = golden_journal(WriterConfig::default());
    let golden = read_or_bless("journal-v1-plain.rhaj", &fresh);
    assert_eq!(
        fresh, golden,
        "the encoder no longer produces the pinned version-1 bytes"
    );
    let (records, end) = decode(&golden);
    assert_eq!(records, expected());
    assert_eq!(
        end,
        End::Clean {
            len: golden.len() as u64
        }
    );
}

#[test]
fn special_nodes_and_cleared_xattrs_v1_decode_and_reencode_identically() {
    let fresh = encode_golden(&golden_node_ops(), WriterConfig::default());
    let golden = read_or_bless("journal-v1-nodes.rhaj", &fresh);
    assert_eq!(
        fresh, golden,
        "the encoder no longer produces the pinned version-1 bytes"
    );
    let (records_read, end) = decode(&golden);
    assert_eq!(records_read, records(golden_node_ops()));
    assert_eq!(
        end,
        End::Clean {
            len: golden.len() as u64
        }
    );
}

#[test]
fn zstd_v1_decodes() {
    // Compressed bytes may differ between zstd releases, so only decoding is pinned.
    let fresh =
        golden_journal(WriterConfig::default().compression(Compression::Zstd { level: 19 }));
    let golden = read_or_bless("journal-v1-zstd.rhaj", &fresh);
    assert_eq!(
        golden[16 + 4],
        2,
        "the golden file starts with a compressed batch"
    );
    let (records, end) = decode(&golden);
    assert_eq!(records, expected());
    assert_eq!(
        end,
        End::Clean {
            len: golden.len() as u64
        }
    );
}

#[test]
fn torn_v1_reports_the_truncation_point() {
    let plain = golden_journal(WriterConfig::default());
    let golden = read_or_bless("journal-v1-torn.rhaj", &plain[..plain.len() - 5]);
    let (records, end) = decode(&golden);
    assert_eq!(records.len(), golden_ops().len() - 1);
    let End::TornTail { offset, tail_len } = end else {
        panic!("{end:?}")
    };
    assert_eq!(offset + tail_len, golden.len() as u64);
}

#[test]
fn corrupt_v1_names_offset_and_last_good_seq() {
    let mut plain = golden_journal(WriterConfig::default());
    plain[200] ^= 0x01;
    let golden = read_or_bless("journal-v1-corrupt.rhaj", &plain);
    let mut d = Decoder::new(DecoderConfig::default());
    d.feed(&golden);
    let err = loop {
        match d.next_record() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("corruption not detected"),
            Err(e) => break e,
        }
    };
    assert!(err.is_corruption());
    assert!(matches!(
        err.kind,
        DecodeErrorKind::BodyChecksum | DecodeErrorKind::HeaderChecksum
    ));
    assert!(err.offset <= 200);
    assert!(err.last_good_seq.is_some_and(|s| s >= 100));
}
