//! Behaviour and property tests of the journal codec.

use std::io;

use bytes::Bytes;
use proptest::prelude::*;

use super::*;

fn p(s: &str) -> RelPath {
    RelPath::new(s.to_owned()).unwrap()
}

/// One record of every operation.
fn every_op() -> Vec<Op> {
    vec![
        Op::Create {
            path: p("a"),
            mode: 0o644,
        },
        Op::Write {
            path: p("a"),
            offset: 7,
            data: Bytes::from_static(b"hello"),
        },
        Op::SetLen {
            path: p("a"),
            len: 3,
        },
        Op::Delete { path: p("a") },
        Op::Rename {
            from: p("d/x"),
            to: p("d/y"),
        },
        Op::Mkdir {
            path: p("d"),
            mode: 0o755,
        },
        Op::Rmdir { path: p("d") },
        Op::Symlink {
            path: p("l"),
            target: Bytes::from_static(b"../outside/ok"),
        },
        Op::HardLink {
            existing: p("a"),
            link: p("b"),
        },
        Op::SetAttr {
            path: p("a"),
            attrs: Attrs {
                mode: Some(0o600),
                uid: None,
                gid: Some(5),
                atime: None,
                mtime: Some(-3),
            },
        },
        Op::SetXattr {
            path: p("a"),
            name: Bytes::from_static(b"user.k"),
            value: Bytes::from_static(b"v"),
        },
        Op::RemoveXattr {
            path: p("a"),
            name: Bytes::from_static(b"user.k"),
        },
        Op::Mknod {
            path: p("dev/null"),
            mode: MODE_CHAR_DEVICE | 0o666,
            rdev: 0x0103,
        },
        Op::ClearXattrs { path: p("a") },
        Op::BlockWrite {
            volume: 2,
            offset: 4096,
            data: Bytes::from(vec![9u8; 512]),
        },
        Op::Discard {
            volume: 2,
            offset: 0,
            len: 1 << 20,
        },
        Op::Bookmark {
            name: "nightly".into(),
            app_consistent: true,
        },
        Op::TxBegin { txid: 77 },
        Op::TxCommit { txid: 77 },
        Op::SyncStart { sync_id: 1 },
        Op::SyncEnd { sync_id: 1 },
        Op::Epoch {
            scenario: 10,
            epoch: 3,
        },
    ]
}

fn encode(ops: &[Op], config: WriterConfig) -> Vec<u8> {
    let mut w = JournalWriter::new(Vec::new(), config);
    for (i, op) in ops.iter().enumerate() {
        w.append(1_000 + i as u64, op).unwrap();
    }
    w.into_inner().unwrap()
}

/// Decodes `bytes` fed in the given chunk sizes (cycled).
fn decode_chunked(
    bytes: &[u8],
    chunks: &[usize],
    config: DecoderConfig,
) -> (Vec<Record>, Result<End, DecodeError>) {
    let mut d = Decoder::new(config);
    let mut out = Vec::new();
    let mut rest = bytes;
    let mut sizes = chunks.iter().copied().cycle();
    loop {
        loop {
            match d.next_record() {
                Ok(Some(r)) => out.push(r),
                Ok(None) => break,
                Err(e) => return (out, Err(e)),
            }
        }
        if rest.is_empty() {
            break;
        }
        let n = sizes.next().unwrap_or(rest.len()).clamp(1, rest.len());
        d.feed(&rest[..n]);
        rest = &rest[n..];
    }
    (out, d.finish())
}

fn decode_all(bytes: &[u8]) -> (Vec<Record>, Result<End, DecodeError>) {
    decode_chunked(bytes, &[usize::MAX], DecoderConfig::default())
}

#[test]
fn every_op_round_trips_plain_and_compressed() {
    let ops = every_op();
    assert_eq!(ops.len(), OpCode::ALL.len());
    for config in [
        WriterConfig::default(),
        WriterConfig::default().compression(Compression::Zstd { level: 3 }),
        WriterConfig::default().batch_bytes(1),
    ] {
        let bytes = encode(&ops, config);
        let (recs, end) = decode_all(&bytes);
        assert_eq!(
            end.unwrap(),
            End::Clean {
                len: bytes.len() as u64
            }
        );
        let got: Vec<Op> = recs.iter().map(|r| r.op.clone()).collect();
        assert_eq!(got, ops);
        assert_eq!(
            recs.iter().map(|r| r.seq).collect::<Vec<_>>(),
            (1..=22).collect::<Vec<_>>()
        );
        assert_eq!(recs[4].timestamp_ns, 1_004);
    }
}

#[test]
fn op_codes_are_stable_and_unique() {
    for code in OpCode::ALL {
        assert_eq!(OpCode::from_u8(code as u8), Some(code));
    }
    for (op, code) in every_op().iter().zip(OpCode::ALL) {
        assert_eq!(op.code(), code);
    }
    assert_eq!(OpCode::from_u8(0), None);
    assert_eq!(OpCode::from_u8(0x46), None);
}

#[test]
fn decoded_payloads_share_the_fed_buffer() {
    let data = Bytes::from(vec![5u8; 100_000]);
    let bytes = Bytes::from(encode(
        &[Op::Write {
            path: p("f"),
            offset: 0,
            data: data.clone(),
        }],
        WriterConfig::default(),
    ));
    let mut d = Decoder::new(DecoderConfig::default());
    d.feed_bytes(bytes.clone());
    let rec = d.next_record().unwrap().unwrap();
    let Op::Write { data: got, .. } = rec.op else {
        panic!("not a write")
    };
    assert_eq!(got, data);
    let range = bytes.as_ptr_range();
    assert!(range.contains(&got.as_ptr()), "payload was copied");
}

#[test]
fn compression_shrinks_repetitive_batches() {
    let ops: Vec<Op> = (0..200)
        .map(|i| Op::Write {
            path: p("log/app.log"),
            offset: i * 64,
            data: Bytes::from(vec![b'x'; 64]),
        })
        .collect();
    let plain = encode(&ops, WriterConfig::default());
    let packed = encode(
        &ops,
        WriterConfig::default().compression(Compression::Zstd { level: 1 }),
    );
    assert!(
        packed.len() * 4 < plain.len(),
        "{} vs {}",
        packed.len(),
        plain.len()
    );
    assert_eq!(decode_all(&packed).0, decode_all(&plain).0);
}

#[test]
fn incompressible_batches_are_written_plain() {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let ops = [Op::BlockWrite {
        volume: 0,
        offset: 0,
        data: noise.into(),
    }];
    let packed = encode(
        &ops,
        WriterConfig::default().compression(Compression::Zstd { level: 1 }),
    );
    let plain = encode(&ops, WriterConfig::default());
    assert_eq!(packed, plain);
}

#[test]
fn sequence_gap_and_regression_are_named() {
    let a = encode(
        &[Op::TxBegin { txid: 1 }],
        WriterConfig::default().first_seq(5),
    );
    let gap = encode(
        &[Op::TxCommit { txid: 1 }],
        WriterConfig::default().first_seq(7).stream_header(false),
    );
    let back = encode(
        &[Op::TxCommit { txid: 1 }],
        WriterConfig::default().first_seq(5).stream_header(false),
    );

    let (recs, end) = decode_all(&[a.clone(), gap].concat());
    assert_eq!(recs.len(), 1);
    let e = end.unwrap_err();
    assert_eq!(
        e.kind,
        DecodeErrorKind::SequenceGap {
            expected: 6,
            found: 7
        }
    );
    assert_eq!(e.offset, a.len() as u64);
    assert_eq!(e.last_good_seq, Some(5));
    assert!(!e.is_corruption());
    assert_eq!(
        e.to_string(),
        format!(
            "sequence gap: expected 6, found 7 at byte offset {} (last good sequence number: 5)",
            a.len()
        )
    );

    let (_, end) = decode_all(&[a, back].concat());
    assert_eq!(
        end.unwrap_err().kind,
        DecodeErrorKind::SequenceRegression {
            expected: 6,
            found: 5
        }
    );
}

#[test]
fn first_seq_is_enforced_when_configured() {
    let bytes = encode(
        &[Op::SyncStart { sync_id: 1 }],
        WriterConfig::default().first_seq(10),
    );
    let (_, end) = decode_chunked(
        &bytes,
        &[usize::MAX],
        DecoderConfig::default().first_seq(Some(9)),
    );
    assert_eq!(
        end.unwrap_err().kind,
        DecodeErrorKind::SequenceGap {
            expected: 9,
            found: 10
        }
    );
    let (recs, end) = decode_chunked(&bytes, &[3], DecoderConfig::default().first_seq(Some(10)));
    assert_eq!(recs.len(), 1);
    end.unwrap();
}

#[test]
fn oversized_records_are_refused_on_both_sides() {
    let op = Op::Write {
        path: p("f"),
        offset: 0,
        data: Bytes::from(vec![0u8; 1000]),
    };
    let mut w = JournalWriter::new(Vec::new(), WriterConfig::default().max_record_size(100));
    let e = w.append(0, &op).unwrap_err();
    assert!(
        matches!(
            e,
            WriteError::Encode(EncodeError::TooLarge {
                size: 1011,
                max: 100,
                ..
            })
        ),
        "{e}"
    );
    assert_eq!(w.next_seq(), 1, "a refused record takes no sequence number");

    let bytes = encode(&[op], WriterConfig::default());
    let (_, end) = decode_chunked(
        &bytes,
        &[usize::MAX],
        DecoderConfig::default().max_record_size(100),
    );
    let e = end.unwrap_err();
    assert_eq!(
        e.kind,
        DecodeErrorKind::TooLarge {
            len: 1011,
            max: 100
        }
    );
    assert_eq!(e.offset, STREAM_HEADER_LEN as u64);
}

#[test]
fn a_huge_declared_length_needs_no_allocation_to_refuse() {
    let mut bytes = encode(&[Op::Delete { path: p("x") }], WriterConfig::default());
    // Rewrite the frame header to declare a 4 GiB body and reseal it.
    let h = &mut bytes[STREAM_HEADER_LEN..STREAM_HEADER_LEN + FRAME_HEADER_LEN];
    h[..4].copy_from_slice(&u32::MAX.to_le_bytes());
    codec::seal_header(h, 0);
    let (_, end) = decode_all(&bytes);
    assert!(matches!(
        end.unwrap_err().kind,
        DecodeErrorKind::TooLarge { .. }
    ));
}

#[test]
fn a_batch_cannot_decompress_past_its_declared_size() {
    let ops: Vec<Op> = (0..50).map(|i| Op::TxBegin { txid: i }).collect();
    let mut bytes = encode(
        &ops,
        WriterConfig::default().compression(Compression::Zstd { level: 1 }),
    );
    let h = &mut bytes[STREAM_HEADER_LEN..STREAM_HEADER_LEN + FRAME_HEADER_LEN];
    assert_eq!(h[4], codec::KIND_BATCH);
    // Declare a smaller decompressed size than the real one.
    let raw = codec::le_u32(h, 20);
    h[20..24].copy_from_slice(&(raw - 40).to_le_bytes());
    let body_crc = codec::le_u32(h, codec::OFF_BODY_CRC);
    codec::seal_header(h, body_crc);
    let (recs, end) = decode_all(&bytes);
    assert!(recs.is_empty());
    let e = end.unwrap_err();
    assert!(matches!(e.kind, DecodeErrorKind::Decompress(_)), "{e}");
}

#[test]
fn zero_filled_tail_is_torn_but_data_after_zeros_is_corruption() {
    let bytes = encode(&every_op(), WriterConfig::default());
    let mut zeroed = bytes.clone();
    zeroed.extend_from_slice(&[0; 5000]);
    let (recs, end) = decode_chunked(&zeroed, &[33], DecoderConfig::default());
    assert_eq!(recs.len(), 22);
    assert_eq!(
        end.unwrap(),
        End::TornTail {
            offset: bytes.len() as u64,
            tail_len: 5000
        }
    );

    zeroed.push(1);
    let (recs, end) = decode_all(&zeroed);
    assert_eq!(recs.len(), 22);
    let e = end.unwrap_err();
    assert_eq!(e.kind, DecodeErrorKind::HeaderChecksum);
    assert_eq!(e.offset, bytes.len() as u64);
}

#[test]
fn a_frame_whose_end_was_never_written_is_a_torn_tail() {
    let bytes = encode(
        &[
            Op::Delete { path: p("x") },
            Op::Write {
                path: p("f"),
                offset: 0,
                data: Bytes::from(vec![3u8; 300]),
            },
        ],
        WriterConfig::default(),
    );
    // A crash left the file at full length with its last page unwritten.
    let mut torn = bytes.clone();
    let n = torn.len();
    torn[n - 100..].fill(0);
    let (recs, end) = decode_all(&torn);
    assert_eq!(recs.len(), 1);
    let second = STREAM_HEADER_LEN as u64 + FRAME_HEADER_LEN as u64 + 3;
    assert_eq!(
        end.unwrap(),
        End::TornTail {
            offset: second,
            tail_len: n as u64 - second
        }
    );
}

#[test]
fn bad_magic_version_and_header_checksum() {
    let bytes = encode(&[Op::Delete { path: p("x") }], WriterConfig::default());
    let mut wrong = bytes.clone();
    wrong[1] = b'X';
    assert_eq!(
        decode_all(&wrong).1.unwrap_err().kind,
        DecodeErrorKind::BadMagic
    );

    let mut v2 = bytes.clone();
    v2[8] = 2;
    let crc = crc32c::crc32c(&v2[..12]);
    v2[12..16].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        decode_all(&v2).1.unwrap_err().kind,
        DecodeErrorKind::UnsupportedVersion(2)
    );

    let mut bad = bytes;
    bad[13] ^= 1;
    assert_eq!(
        decode_all(&bad).1.unwrap_err().kind,
        DecodeErrorKind::StreamHeaderChecksum
    );
}

#[test]
fn errors_repeat_after_failure() {
    let mut bytes = encode(&every_op(), WriterConfig::default());
    let n = bytes.len();
    bytes[n / 2] ^= 0x10;
    let mut d = Decoder::new(DecoderConfig::default());
    d.feed(&bytes);
    let first = loop {
        match d.next_record() {
            Ok(Some(_)) => continue,
            Ok(None) => panic!("corruption not detected"),
            Err(e) => break e,
        }
    };
    assert!(first.is_corruption());
    assert!(first.last_good_seq.is_some());
    assert_eq!(d.next_record().unwrap_err(), first);
    assert_eq!(d.finish().unwrap_err(), first);
}

#[test]
fn finish_before_draining_is_refused() {
    let bytes = encode(&[Op::TxBegin { txid: 1 }], WriterConfig::default());
    let mut d = Decoder::new(DecoderConfig::default());
    d.feed(&bytes);
    assert_eq!(d.finish().unwrap_err().kind, DecodeErrorKind::Undrained);
    assert!(d.next_record().unwrap().is_some());
    assert_eq!(
        d.finish().unwrap(),
        End::Clean {
            len: bytes.len() as u64
        }
    );
}

#[test]
fn needed_bounds_the_input_to_one_frame() {
    let ops = every_op();
    let bytes = encode(&ops, WriterConfig::default());
    let mut d = Decoder::new(DecoderConfig::default());
    let mut pos = 0;
    let mut count = 0;
    while pos < bytes.len() {
        let n = d.needed();
        assert!(n > 0);
        let n = n.min(bytes.len() - pos);
        d.feed(&bytes[pos..pos + n]);
        pos += n;
        while d.next_record().unwrap().is_some() {
            count += 1;
        }
        assert!(d.buffered() <= FRAME_HEADER_LEN + 600);
    }
    assert_eq!(count, ops.len());
}

#[test]
fn invalid_fields_are_refused_when_encoding() {
    let mut w = JournalWriter::new(Vec::new(), WriterConfig::default());
    let bad = [
        Op::SetXattr {
            path: p("a"),
            name: Bytes::new(),
            value: Bytes::new(),
        },
        Op::RemoveXattr {
            path: p("a"),
            name: Bytes::from(vec![b'n'; 256]),
        },
        Op::Symlink {
            path: p("l"),
            target: Bytes::from_static(b"a\0b"),
        },
        Op::Bookmark {
            name: String::new(),
            app_consistent: false,
        },
        Op::SetXattr {
            path: p("a"),
            name: Bytes::from_static(b"k"),
            value: Bytes::from(vec![0; 65537]),
        },
        // A socket, a regular file, and a FIFO with a bit past the type bits.
        Op::Mknod {
            path: p("s"),
            mode: 0o140644,
            rdev: 0,
        },
        Op::Mknod {
            path: p("f"),
            mode: 0o100644,
            rdev: 0,
        },
        Op::Mknod {
            path: p("f"),
            mode: MODE_FIFO | 0o200000,
            rdev: 0,
        },
    ];
    for op in &bad {
        let e = w.append(0, op).unwrap_err();
        assert!(
            matches!(e, WriteError::Encode(EncodeError::InvalidField { .. })),
            "{op:?}: {e}"
        );
    }
    assert_eq!(
        w.append(0, &bad[0]).unwrap_err().to_string(),
        "record seq 1: xattr name is empty"
    );
    w.append(0, &Op::TxBegin { txid: 1 }).unwrap();
    let bytes = w.into_inner().unwrap();
    assert_eq!(decode_all(&bytes).0.len(), 1);
}

#[test]
fn a_mknod_record_of_another_file_type_is_corrupt() {
    let mut w = JournalWriter::new(Vec::new(), WriterConfig::default());
    w.append(
        7,
        &Op::Mknod {
            path: p("n"),
            mode: MODE_FIFO | 0o600,
            rdev: 0,
        },
    )
    .unwrap();
    let good = w.into_inner().unwrap();
    // The mode follows the path's length (2) and the path (1).
    let at = STREAM_HEADER_LEN + FRAME_HEADER_LEN + 3;
    for mode in [0o100600u32, 0o140600, MODE_FIFO | 0o20000] {
        let mut bytes = good.clone();
        bytes[at..at + 4].copy_from_slice(&mode.to_le_bytes());
        super::codec::seal_frame(&mut bytes[STREAM_HEADER_LEN..]);
        let (recs, end) = decode_all(&bytes);
        assert!(recs.is_empty(), "{mode:o}");
        let e = end.unwrap_err();
        assert!(e.is_corruption(), "{mode:o}: {e}");
        assert!(e.to_string().contains("mknod mode"), "{mode:o}: {e}");
    }
    assert_eq!(decode_all(&good).0.len(), 1);
}

#[test]
fn append_record_requires_the_next_sequence_number() {
    let mut w = JournalWriter::new(Vec::new(), WriterConfig::default().first_seq(40));
    let rec = Record {
        seq: 41,
        timestamp_ns: 0,
        op: Op::TxBegin { txid: 1 },
    };
    let e = w.append_record(&rec).unwrap_err();
    assert!(matches!(
        e,
        WriteError::Encode(EncodeError::Sequence {
            expected: 40,
            found: 41
        })
    ));
    w.append_record(&Record {
        seq: 40,
        ..rec.clone()
    })
    .unwrap();
    w.append_record(&rec).unwrap();
}

/// A sink that fails the `fail_at`-th call.
struct FailingSink {
    calls: usize,
    fail_at: usize,
    data: Vec<u8>,
    syncs: usize,
}

impl Sink for FailingSink {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.calls += 1;
        if self.calls == self.fail_at {
            return Err(io::Error::other("disk on fire"));
        }
        self.data.extend_from_slice(buf);
        Ok(())
    }
    fn sync(&mut self) -> io::Result<()> {
        self.calls += 1;
        if self.calls == self.fail_at {
            return Err(io::Error::other("fsync failed"));
        }
        self.syncs += 1;
        Ok(())
    }
}

#[test]
fn a_failed_sink_poisons_the_writer() {
    for fail_at in 1..=3 {
        let sink = FailingSink {
            calls: 0,
            fail_at,
            data: Vec::new(),
            syncs: 0,
        };
        let mut w = JournalWriter::new(sink, WriterConfig::default());
        w.append(0, &Op::TxBegin { txid: 1 }).unwrap();
        let e = w.sync().and_then(|()| {
            w.append(0, &Op::TxCommit { txid: 1 })?;
            w.sync()
        });
        assert!(
            matches!(e, Err(WriteError::Io(_))),
            "fail_at {fail_at}: {e:?}"
        );
        assert!(matches!(
            w.append(0, &Op::TxBegin { txid: 2 }),
            Err(WriteError::Poisoned)
        ));
        assert!(matches!(w.sync(), Err(WriteError::Poisoned)));
    }
}

#[test]
fn sync_reaches_the_sink() {
    let sink = FailingSink {
        calls: 0,
        fail_at: 0,
        data: Vec::new(),
        syncs: 0,
    };
    let mut w = JournalWriter::new(sink, WriterConfig::default());
    w.append(0, &Op::TxBegin { txid: 1 }).unwrap();
    assert!(
        w.get_ref().data.is_empty(),
        "records are batched until flushed"
    );
    w.sync().unwrap();
    assert_eq!(w.get_ref().syncs, 1);
    assert_eq!(decode_all(&w.get_ref().data).0.len(), 1);
}

#[test]
fn empty_input_is_a_clean_empty_journal_and_a_partial_header_is_torn() {
    assert_eq!(decode_all(&[]).1.unwrap(), End::Clean { len: 0 });
    let bytes = encode(&[], WriterConfig::default());
    assert_eq!(
        bytes.len(),
        STREAM_HEADER_LEN,
        "flushing an empty writer still writes the header"
    );
    assert_eq!(
        decode_all(&bytes[..5]).1.unwrap(),
        End::TornTail {
            offset: 0,
            tail_len: 5
        }
    );
}

#[test]
fn reader_reads_from_io() {
    let ops = every_op();
    let bytes = encode(
        &ops,
        WriterConfig::default().compression(Compression::Zstd { level: 1 }),
    );
    let mut r = JournalReader::new(
        io::Cursor::new(&bytes[..bytes.len() - 1]),
        DecoderConfig::default(),
    );
    let mut n = 0;
    while r.next_record().unwrap().is_some() {
        n += 1;
    }
    assert_eq!(n, 0, "the only (compressed) frame is torn");
    assert!(matches!(r.end(), Some(End::TornTail { offset: 16, .. })));
}

// ---- properties ----

fn arb_path() -> impl Strategy<Value = RelPath> {
    prop::collection::vec(
        prop_oneof![
            Just(b"a".to_vec()),
            Just(b"dir".to_vec()),
            prop::collection::vec(1u8..=255, 1..12)
        ],
        1..4,
    )
    .prop_filter_map("valid path", |parts| RelPath::new(parts.join(&b'/')).ok())
}

fn arb_bytes(max: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn arb_name(max: usize) -> impl Strategy<Value = Bytes> {
    prop::collection::vec(1u8..=255, 1..max).prop_map(Bytes::from)
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (arb_path(), any::<u32>()).prop_map(|(path, mode)| Op::Create { path, mode }),
        (arb_path(), any::<u64>(), arb_bytes(300)).prop_map(|(path, offset, data)| Op::Write {
            path,
            offset,
            data
        }),
        (arb_path(), any::<u64>()).prop_map(|(path, len)| Op::SetLen { path, len }),
        arb_path().prop_map(|path| Op::Delete { path }),
        (arb_path(), arb_path()).prop_map(|(from, to)| Op::Rename { from, to }),
        (arb_path(), any::<u32>()).prop_map(|(path, mode)| Op::Mkdir { path, mode }),
        arb_path().prop_map(|path| Op::Rmdir { path }),
        (arb_path(), arb_name(40)).prop_map(|(path, target)| Op::Symlink { path, target }),
        (arb_path(), arb_path()).prop_map(|(existing, link)| Op::HardLink { existing, link }),
        (
            arb_path(),
            any::<(
                Option<u32>,
                Option<u32>,
                Option<u32>,
                Option<i64>,
                Option<i64>
            )>()
        )
            .prop_map(|(path, (mode, uid, gid, atime, mtime))| Op::SetAttr {
                path,
                attrs: Attrs {
                    mode,
                    uid,
                    gid,
                    atime,
                    mtime
                },
            }),
        (arb_path(), arb_name(20), arb_bytes(50)).prop_map(|(path, name, value)| Op::SetXattr {
            path,
            name,
            value
        }),
        (arb_path(), arb_name(20)).prop_map(|(path, name)| Op::RemoveXattr { path, name }),
        (
            arb_path(),
            prop::sample::select(vec![MODE_FIFO, MODE_CHAR_DEVICE, MODE_BLOCK_DEVICE]),
            0u32..0o10000,
            any::<u64>()
        )
            .prop_map(|(path, kind, perm, rdev)| Op::Mknod {
                path,
                mode: kind | perm,
                rdev
            }),
        arb_path().prop_map(|path| Op::ClearXattrs { path }),
        (any::<u32>(), any::<u64>(), arb_bytes(300)).prop_map(|(volume, offset, data)| {
            Op::BlockWrite {
                volume,
                offset,
                data,
            }
        }),
        (any::<u32>(), any::<u64>(), any::<u64>()).prop_map(|(volume, offset, len)| Op::Discard {
            volume,
            offset,
            len
        }),
        ("[a-z0-9 é-]{1,30}", any::<bool>()).prop_map(|(name, app_consistent)| Op::Bookmark {
            name,
            app_consistent
        }),
        any::<u64>().prop_map(|txid| Op::TxBegin { txid }),
        any::<u64>().prop_map(|txid| Op::TxCommit { txid }),
        any::<u64>().prop_map(|sync_id| Op::SyncStart { sync_id }),
        any::<u64>().prop_map(|sync_id| Op::SyncEnd { sync_id }),
        (any::<u64>(), any::<u64>()).prop_map(|(scenario, epoch)| Op::Epoch { scenario, epoch }),
    ]
}

fn arb_config() -> impl Strategy<Value = WriterConfig> {
    (any::<bool>(), 1usize..2000, 0u64..1 << 40).prop_map(|(zstd, batch, first)| {
        let c = WriterConfig::default().batch_bytes(batch).first_seq(first);
        if zstd {
            c.compression(Compression::Zstd { level: 1 })
        } else {
            c
        }
    })
}

fn encode_records(ops: &[(u64, Op)], config: WriterConfig) -> (Vec<Record>, Vec<u8>) {
    let mut w = JournalWriter::new(Vec::new(), config);
    let mut recs = Vec::new();
    for (ts, op) in ops {
        let seq = w.append(*ts, op).unwrap();
        recs.push(Record {
            seq,
            timestamp_ns: *ts,
            op: op.clone(),
        });
    }
    (recs, w.into_inner().unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decode_inverts_encode(ops in prop::collection::vec((any::<u64>(), arb_op()), 0..40), config in arb_config()) {
        let (recs, bytes) = encode_records(&ops, config);
        let (got, end) = decode_all(&bytes);
        prop_assert_eq!(end.unwrap(), End::Clean { len: bytes.len() as u64 });
        prop_assert_eq!(got, recs);
    }

    #[test]
    fn chunking_does_not_change_the_result(
        ops in prop::collection::vec((any::<u64>(), arb_op()), 0..20),
        config in arb_config(),
        chunks in prop::collection::vec(1usize..200, 1..10),
        cut in any::<prop::sample::Index>(),
    ) {
        let (_, bytes) = encode_records(&ops, config);
        // Include damaged streams: the outcome must still not depend on chunking.
        let mut damaged = bytes.clone();
        if !damaged.is_empty() {
            let i = cut.index(damaged.len());
            damaged[i] ^= 0x40;
        }
        for input in [&bytes, &damaged] {
            let whole = decode_all(input);
            let split = decode_chunked(input, &chunks, DecoderConfig::default());
            prop_assert_eq!(&split.0, &whole.0);
            prop_assert_eq!(&split.1, &whole.1);
        }
    }

    #[test]
    fn any_single_bit_flip_is_detected(
        ops in prop::collection::vec((any::<u64>(), arb_op()), 1..12),
        config in arb_config(),
        bit in any::<prop::sample::Index>(),
    ) {
        let (recs, bytes) = encode_records(&ops, config);
        let mut flipped = bytes.clone();
        let bit = bit.index(bytes.len() * 8);
        flipped[bit / 8] ^= 1 << (bit % 8);
        let (got, end) = decode_all(&flipped);
        // Never silently accepted: an error or a torn tail, and whatever was
        // returned is an intact prefix of what was written.
        prop_assert!(!matches!(end, Ok(End::Clean { .. })), "flip of bit {} accepted", bit);
        prop_assert!(got.len() < recs.len());
        prop_assert_eq!(&got[..], &recs[..got.len()]);
    }

    #[test]
    fn truncation_is_a_torn_tail_with_an_intact_prefix(
        ops in prop::collection::vec((any::<u64>(), arb_op()), 1..12),
        config in arb_config(),
        cut in any::<prop::sample::Index>(),
    ) {
        let (recs, bytes) = encode_records(&ops, config);
        let cut = cut.index(bytes.len());
        let (got, end) = decode_all(&bytes[..cut]);
        let end = end.unwrap();
        match end {
            // The cut fell on a frame boundary.
            End::Clean { len } => prop_assert_eq!(len, cut as u64),
            End::TornTail { offset, tail_len } => {
            prop_assert_eq!(offset + tail_len, cut as u64);
            // The intact prefix re-decodes cleanly to the same records.
            let (again, end) = decode_all(&bytes[..offset as usize]);
            prop_assert_eq!(end.unwrap(), End::Clean { len: offset });
            prop_assert_eq!(&again, &got);
            }
        }
        prop_assert!(got.len() < recs.len());
        prop_assert_eq!(&got[..], &recs[..got.len()]);
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        data in prop::collection::vec(any::<u8>(), 0..600),
        header in any::<bool>(),
        chunks in prop::collection::vec(1usize..64, 1..5),
    ) {
        let mut input = Vec::new();
        if header {
            codec::write_stream_header(&mut input);
        }
        input.extend_from_slice(&data);
        let config = DecoderConfig::default().max_record_size(1 << 16);
        let _ = decode_chunked(&input, &chunks, config.clone());
        let _ = decode_chunked(&data, &chunks, config.stream_header(false));
    }
}

#[test]
fn batches_never_exceed_what_a_reader_with_the_same_limit_accepts() {
    let config = WriterConfig::default()
        .max_record_size(200)
        .batch_bytes(usize::MAX)
        .compression(Compression::Zstd { level: 1 });
    let ops: Vec<Op> = (0..100).map(|i| Op::TxBegin { txid: i }).collect();
    let bytes = encode(&ops, config);
    let (recs, end) = decode_chunked(
        &bytes,
        &[usize::MAX],
        DecoderConfig::default().max_record_size(200),
    );
    assert_eq!(recs.len(), 100);
    end.unwrap();
}

#[test]
fn get_mut_lets_the_caller_take_flushed_bytes() {
    let mut w = JournalWriter::new(Vec::new(), WriterConfig::default());
    w.append(0, &Op::TxBegin { txid: 1 }).unwrap();
    w.flush().unwrap();
    let first = std::mem::take(w.get_mut());
    w.append(0, &Op::TxCommit { txid: 1 }).unwrap();
    let rest = w.into_inner().unwrap();
    let (recs, end) = decode_all(&[first, rest].concat());
    assert_eq!(recs.len(), 2);
    end.unwrap();
}

#[test]
fn sequence_numbers_end_at_u64_max() {
    let mut w = JournalWriter::new(Vec::new(), WriterConfig::default().first_seq(u64::MAX - 1));
    assert_eq!(w.append(0, &Op::TxBegin { txid: 1 }).unwrap(), u64::MAX - 1);
    assert_eq!(w.append(0, &Op::TxBegin { txid: 2 }).unwrap(), u64::MAX);
    let e = w.append(0, &Op::TxBegin { txid: 3 }).unwrap_err();
    assert!(
        matches!(e, WriteError::Encode(EncodeError::SequenceExhausted)),
        "{e}"
    );
    let rec = Record {
        seq: 0,
        timestamp_ns: 0,
        op: Op::TxBegin { txid: 3 },
    };
    assert!(w.append_record(&rec).is_err());
    let bytes = w.into_inner().unwrap();
    let (recs, end) = decode_all(&bytes);
    assert_eq!(recs.len(), 2);
    end.unwrap();

    // A hand-made stream that wraps around is refused.
    let wrapped = encode(
        &[Op::TxCommit { txid: 1 }],
        WriterConfig::default().first_seq(0).stream_header(false),
    );
    let (recs, end) = decode_all(&[bytes, wrapped].concat());
    assert_eq!(recs.len(), 2);
    assert_eq!(
        end.unwrap_err().kind,
        DecodeErrorKind::SequenceOverflow { found: 0 }
    );
}

#[test]
fn borrowed_records_match_owned_ones() {
    for config in [
        WriterConfig::default(),
        WriterConfig::default().compression(Compression::Zstd { level: 1 }),
    ] {
        let bytes = Bytes::from(encode(&every_op(), config));
        let mut owned = Decoder::new(DecoderConfig::default());
        let mut borrowed = Decoder::new(DecoderConfig::default());
        owned.feed_bytes(bytes.clone());
        borrowed.feed_bytes(bytes.clone());
        let mut n = 0;
        while let Some(r) = borrowed.next_record_ref().unwrap() {
            assert_eq!(r.op.code(), every_op()[n].code());
            let copy = r.to_record();
            assert_eq!(Some(copy), owned.next_record().unwrap());
            n += 1;
        }
        assert_eq!(n, 22);
        assert!(owned.next_record().unwrap().is_none());
        assert_eq!(
            borrowed.finish().unwrap(),
            End::Clean {
                len: bytes.len() as u64
            }
        );
    }
}

#[test]
fn the_largest_limits_do_not_overflow() {
    let ops = every_op();
    for compression in [Compression::None, Compression::Zstd { level: 1 }] {
        let bytes = encode(
            &ops,
            WriterConfig::default()
                .compression(compression)
                .max_record_size(usize::MAX),
        );
        let (records, end) = decode_chunked(
            &bytes,
            &[7, 100, usize::MAX],
            DecoderConfig::default().max_record_size(usize::MAX),
        );
        assert_eq!(records.len(), ops.len(), "{compression:?}");
        assert_eq!(
            end.unwrap(),
            End::Clean {
                len: bytes.len() as u64
            }
        );
    }
}

#[test]
fn a_split_record_with_its_payload_in_place_is_the_plain_encoding() {
    let path = RelPath::new("f").expect("path");
    let ops = [
        Op::Write {
            path: path.clone(),
            offset: 3,
            data: Bytes::from(vec![5u8; 5000]),
        },
        Op::SetLen {
            path: path.clone(),
            len: 9,
        },
        Op::Write {
            path: path.clone(),
            offset: 0,
            data: Bytes::from_static(b"short"),
        },
        Op::SetXattr {
            path: path.clone(),
            name: Bytes::from_static(b"user.x"),
            value: Bytes::from(vec![7u8; 2000]),
        },
        Op::BlockWrite {
            volume: 1,
            offset: 4096,
            data: Bytes::from(vec![9u8; 4096]),
        },
    ];
    // Batches smaller than the records: splitting never writes any out.
    let config = WriterConfig::default().stream_header(false).batch_bytes(1);
    let mut plain = JournalWriter::new(Vec::new(), config.clone());
    let mut split = JournalWriter::new(Vec::new(), config);
    let mut pieces = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        plain.append(i as u64, op).expect("append");
        if let Some(piece) = split.append_split(i as u64, op, 1000).expect("split") {
            pieces.push(piece);
        }
    }
    assert_eq!(pieces.len(), 3, "only the long payloads are left out");
    let head = split.take_bytes(Vec::new()).expect("bytes");
    let mut joined = Vec::new();
    let mut from = 0;
    for (at, payload) in &pieces {
        joined.extend_from_slice(&head[from..*at]);
        joined.extend_from_slice(payload);
        from = *at;
    }
    joined.extend_from_slice(&head[from..]);
    assert_eq!(joined, plain.into_inner().expect("bytes"));
    // A writer with its stream header still to write does not split.
    let mut w = JournalWriter::new(Vec::new(), WriterConfig::default());
    assert!(w.append_split(0, &ops[0], 1000).expect("append").is_none());
}
