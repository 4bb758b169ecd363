//! The seed corpus: small journals that reach every part of the decoder, and
//! structured inputs that cover every operation, written to `corpus/`.
//!
//! Run `cargo test -p rha-fuzz --lib -- --ignored regenerate_seed_corpus`
//! after a format change. Seeds have descriptive names; files named by a
//! 40-digit hash were found by the fuzzer, and `regression-*` files are
//! inputs that once failed: both are left alone.

use std::collections::BTreeSet;
use std::path::Path;

use bytes::Bytes;
use rha_core::journal::{
    Attrs, Compression, End, JournalWriter, Op, OpCode, RelPath, WriterConfig, FRAME_HEADER_LEN,
    STREAM_HEADER_LEN,
};

use crate::decode::{self, Control};
use crate::roundtrip::Input;
use crate::tests::corpus_dir;

/// What decoding a seed must end in, so each seed keeps meaning what its
/// name says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Clean,
    Torn,
    Error,
}

struct Seed {
    name: String,
    data: Vec<u8>,
    expect: Expect,
}

fn path(p: &str) -> RelPath {
    RelPath::new(Bytes::copy_from_slice(p.as_bytes())).expect("valid seed path")
}

/// Bytes with some redundancy (4 bits of entropy each), so zstd has
/// something to do.
fn pseudo_random(len: usize, seed: u32) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 7) as u8 & 0x0F | 0x40
        })
        .collect()
}

/// One operation of every kind, in an order a file system could produce.
fn every_op() -> Vec<Op> {
    vec![
        Op::Epoch {
            scenario: 3,
            epoch: 2,
        },
        Op::SyncStart { sync_id: 1 },
        Op::Mkdir {
            path: path("d"),
            mode: 0o755,
        },
        Op::Create {
            path: path("d/a.txt"),
            mode: 0o644,
        },
        Op::TxBegin { txid: 7 },
        Op::Write {
            path: path("d/a.txt"),
            offset: 0,
            data: Bytes::from_static(b"hello, journal"),
        },
        Op::SetLen {
            path: path("d/a.txt"),
            len: 5,
        },
        Op::TxCommit { txid: 7 },
        Op::Rename {
            from: path("d/a.txt"),
            to: path("d/b.txt"),
        },
        Op::HardLink {
            existing: path("d/b.txt"),
            link: path("c.txt"),
        },
        Op::SetAttr {
            path: path("c.txt"),
            attrs: Attrs {
                mode: Some(0o600),
                uid: Some(1000),
                gid: Some(1000),
                atime: Some(-1),
                mtime: Some(1_700_000_000_000_000_000),
            },
        },
        Op::SetAttr {
            path: path("c.txt"),
            attrs: Attrs {
                mtime: Some(0),
                ..Attrs::default()
            },
        },
        Op::SetXattr {
            path: path("c.txt"),
            name: Bytes::from_static(b"user.origin"),
            value: Bytes::from_static(b"master"),
        },
        Op::RemoveXattr {
            path: path("c.txt"),
            name: Bytes::from_static(b"user.origin"),
        },
        Op::Symlink {
            path: path("link"),
            target: Bytes::from_static(b"../elsewhere/c.txt"),
        },
        Op::Delete {
            path: path("c.txt"),
        },
        Op::Rmdir { path: path("d") },
        Op::BlockWrite {
            volume: 0,
            offset: 4096,
            data: pseudo_random(512, 7).into(),
        },
        Op::Discard {
            volume: 0,
            offset: 1 << 20,
            len: 1 << 16,
        },
        Op::Bookmark {
            name: "before upgrade".into(),
            app_consistent: true,
        },
        Op::Mknod {
            path: path("fifo"),
            mode: 0o010640,
            rdev: 0,
        },
        Op::Mknod {
            path: path("null"),
            mode: 0o020666,
            rdev: 0x0103,
        },
        Op::ClearXattrs { path: path("fifo") },
        Op::SyncEnd { sync_id: 1 },
    ]
}

fn journal(config: WriterConfig, ops: &[Op]) -> Vec<u8> {
    let mut w = JournalWriter::new(Vec::new(), config);
    for (i, op) in ops.iter().enumerate() {
        w.append(1_700_000_000_000_000_000 + i as u64, op)
            .expect("seed records are valid");
    }
    w.into_inner().expect("writing into a Vec cannot fail")
}

fn zstd() -> WriterConfig {
    WriterConfig::default().compression(Compression::Zstd { level: 3 })
}

/// Offsets of the top-level frames of a journal with a stream header.
fn frames(j: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut pos = STREAM_HEADER_LEN;
    while pos + FRAME_HEADER_LEN <= j.len() {
        out.push(pos);
        let len = u32::from_le_bytes(j[pos..pos + 4].try_into().expect("4 bytes"));
        pos += FRAME_HEADER_LEN + len as usize;
    }
    out
}

fn control(flags: u8, chunking: u8, seed: u8, first_seq: u8) -> Control {
    Control {
        flags,
        chunking,
        seed,
        first_seq,
    }
}

fn seed(name: &str, control: Control, journal: &[u8], expect: Expect) -> Seed {
    let mut data = control.to_bytes().to_vec();
    data.extend_from_slice(journal);
    Seed {
        name: name.into(),
        data,
        expect,
    }
}

const WHOLE: Control = Control::WHOLE;
const NO_HEADER: u8 = 1;
const FIRST_SEQ: u8 = 2;
const MAX_64: u8 = 1 << 2;
const MAX_64K: u8 = 3 << 2;
const COPY: u8 = 16;
const SEAL: u8 = 32;
/// Chunking byte for one-byte pieces (`2^(17 % 17)` = 1).
const BYTES: u8 = 17;

fn decode_seeds() -> Vec<Seed> {
    use Expect::{Clean, Error, Torn};
    let ops = every_op();
    let all = journal(WriterConfig::default(), &ops);
    let all_zstd = journal(zstd().batch_bytes(300), &ops);
    let mut s = vec![
        Seed {
            name: "empty".into(),
            data: Vec::new(),
            expect: Clean,
        },
        seed("control-only", WHOLE, &[], Clean),
        seed("garbage", WHOLE, &pseudo_random(300, 1), Error),
        seed(
            "garbage-sealed",
            control(SEAL | NO_HEADER, 0, 0, 0),
            &pseudo_random(300, 2),
            Error,
        ),
        seed(
            "header-only",
            WHOLE,
            &journal(WriterConfig::default(), &[]),
            Clean,
        ),
        seed("all-ops", WHOLE, &all, Clean),
        seed("all-ops-byte-chunks", control(0, BYTES, 0, 0), &all, Clean),
        seed("all-ops-random-chunks", control(0, 6, 42, 0), &all, Clean),
        seed("all-ops-copy-feed", control(COPY, 4, 9, 0), &all, Clean),
        seed("all-ops-zstd", WHOLE, &all_zstd, Clean),
        seed(
            "all-ops-zstd-random-chunks",
            control(0, 7, 3, 0),
            &all_zstd,
            Clean,
        ),
        seed(
            "all-ops-no-stream-header",
            control(NO_HEADER, 0, 0, 0),
            &journal(WriterConfig::default().stream_header(false), &ops),
            Clean,
        ),
        seed(
            "first-seq-matches",
            control(FIRST_SEQ, 0, 0, 5),
            &journal(WriterConfig::default().first_seq(5), &ops[..4]),
            Clean,
        ),
        seed(
            "first-seq-gap",
            control(FIRST_SEQ, 0, 0, 4),
            &journal(WriterConfig::default().first_seq(5), &ops[..4]),
            Error,
        ),
        seed("all-ops-max-64", control(MAX_64, 0, 0, 0), &all, Error),
    ];
    for op in &ops {
        let name = format!("op-{}", op.code().name());
        if !s.iter().any(|seed| seed.name == name) {
            let j = journal(WriterConfig::default(), std::slice::from_ref(op));
            s.push(seed(&name, WHOLE, &j, Clean));
        }
    }

    let large = journal(
        WriterConfig::default(),
        &[Op::Write {
            path: path("big.bin"),
            offset: 0,
            data: pseudo_random(70_000, 3).into(),
        }],
    );
    s.push(seed("large-write", control(0, 16, 1, 0), &large, Clean));
    s.push(seed(
        "large-write-max-64k",
        control(MAX_64K, 0, 0, 0),
        &large,
        Error,
    ));

    // Torn tails: the input ends inside the stream header, a frame header, a
    // body, a compressed batch; zero bytes where a frame should be.
    s.push(seed("torn-stream-header", WHOLE, &all[..10], Torn));
    let f = frames(&all);
    s.push(seed("torn-frame-header", WHOLE, &all[..f[3] + 20], Torn));
    s.push(seed("torn-body", WHOLE, &all[..all.len() - 5], Torn));
    s.push(seed(
        "torn-zstd-batch",
        WHOLE,
        &all_zstd[..all_zstd.len() - 9],
        Torn,
    ));
    let mut zero_tail = all.clone();
    zero_tail.extend_from_slice(&[0; 64]);
    s.push(seed(
        "torn-zero-tail",
        control(0, 5, 5, 0),
        &zero_tail,
        Torn,
    ));
    zero_tail.truncate(all.len() + 40);
    zero_tail.push(1);
    s.push(seed("zero-tail-then-data", WHOLE, &zero_tail, Error));

    // Damage: one flipped bit in each part of the stream.
    let flip = |j: &[u8], at: usize, bit: u8| {
        let mut j = j.to_vec();
        j[at] ^= 1 << bit;
        j
    };
    s.push(seed("flip-magic", WHOLE, &flip(&all, 3, 0), Error));
    s.push(seed("flip-version", WHOLE, &flip(&all, 8, 1), Error));
    s.push(seed(
        "flip-frame-length",
        WHOLE,
        &flip(&all, f[2], 4),
        Error,
    ));
    s.push(seed(
        "flip-frame-seq",
        WHOLE,
        &flip(&all, f[2] + 8, 0),
        Error,
    ));
    s.push(seed(
        "flip-body",
        WHOLE,
        &flip(&all, f[5] + FRAME_HEADER_LEN + 3, 6),
        Error,
    ));
    let zf = frames(&all_zstd);
    s.push(seed(
        "flip-zstd-body",
        WHOLE,
        &flip(&all_zstd, zf[0] + FRAME_HEADER_LEN + 10, 2),
        Error,
    ));

    // Well-formed frames in the wrong place.
    let mut twice = all.clone();
    twice.extend_from_slice(&all);
    s.push(seed("concatenated-journals", WHOLE, &twice, Error));
    let mut dup = all[..f[3]].to_vec();
    dup.extend_from_slice(&all[f[2]..f[3]]);
    s.push(seed("duplicate-record", WHOLE, &dup, Error));
    let mut swapped = all[..f[2]].to_vec();
    swapped.extend_from_slice(&all[f[3]..f[4]]);
    swapped.extend_from_slice(&all[f[2]..f[3]]);
    s.push(seed("swapped-records", WHOLE, &swapped, Error));

    // Hostile frames with valid checksums (the harness seals them): what is
    // behind the checksums must hold up too.
    let sealed = control(SEAL, 0, 0, 0);
    let one = |op: Op| journal(WriterConfig::default(), &[op]);
    let patch = |mut j: Vec<u8>, at: usize, bytes: &[u8]| {
        j[at..at + bytes.len()].copy_from_slice(bytes);
        j
    };
    let f0 = STREAM_HEADER_LEN;
    let body = f0 + FRAME_HEADER_LEN;
    let create = one(Op::Create {
        path: path("abcde"),
        mode: 0o644,
    });
    s.push(seed("sealed-valid", sealed, &create, Clean));
    s.push(seed(
        "sealed-dotdot-path",
        sealed,
        &patch(create.clone(), body + 2, b"../xx"),
        Error,
    ));
    s.push(seed(
        "sealed-nul-in-path",
        sealed,
        &patch(create.clone(), body + 4, b"\0"),
        Error,
    ));
    s.push(seed(
        "sealed-unknown-op",
        sealed,
        &patch(create.clone(), f0 + 5, &[0x7F]),
        Error,
    ));
    s.push(seed(
        "sealed-unknown-kind",
        sealed,
        &patch(create.clone(), f0 + 4, &[3]),
        Error,
    ));
    s.push(seed(
        "sealed-reserved-flags",
        sealed,
        &patch(create.clone(), f0 + 6, &[1]),
        Error,
    ));
    s.push(seed(
        "sealed-reserved-stream-flags",
        sealed,
        &patch(create.clone(), 10, &[1]),
        Error,
    ));
    s.push(seed(
        "sealed-huge-body-len",
        sealed,
        &patch(create.clone(), f0, &u32::MAX.to_le_bytes()),
        Error,
    ));
    let mut trailing = patch(create.clone(), f0, &12u32.to_le_bytes());
    trailing.push(b'!');
    s.push(seed("sealed-trailing-byte", sealed, &trailing, Error));
    let short = patch(create.clone(), f0, &8u32.to_le_bytes());
    s.push(seed(
        "sealed-short-body",
        sealed,
        &short[..short.len() - 3],
        Error,
    ));
    let setattr = one(Op::SetAttr {
        path: path("f"),
        attrs: Attrs {
            mode: Some(1),
            ..Attrs::default()
        },
    });
    s.push(seed(
        "sealed-unknown-attr-bits",
        sealed,
        &patch(setattr, body + 3, &[0x21]),
        Error,
    ));
    let bookmark = one(Op::Bookmark {
        name: "abc".into(),
        app_consistent: false,
    });
    s.push(seed(
        "sealed-bookmark-not-utf8",
        sealed,
        &patch(bookmark.clone(), body + 1, b"\xff"),
        Error,
    ));
    s.push(seed(
        "sealed-bookmark-flag-2",
        sealed,
        &patch(bookmark, body, &[2]),
        Error,
    ));

    // Compressed batches whose header lies about the contents.
    let batch = journal(zstd(), &ops);
    let count = 16;
    let raw_len = 20;
    let real_raw = u32::from_le_bytes(
        batch[f0 + raw_len..f0 + raw_len + 4]
            .try_into()
            .expect("4 bytes"),
    );
    s.push(seed("sealed-batch-valid", sealed, &batch, Clean));
    s.push(seed(
        "sealed-batch-raw-len-short",
        sealed,
        &patch(batch.clone(), f0 + raw_len, &(real_raw - 1).to_le_bytes()),
        Error,
    ));
    s.push(seed(
        "sealed-batch-raw-len-long",
        sealed,
        &patch(batch.clone(), f0 + raw_len, &(real_raw + 1).to_le_bytes()),
        Error,
    ));
    s.push(seed(
        "sealed-batch-count-zero",
        sealed,
        &patch(batch.clone(), f0 + count, &0u32.to_le_bytes()),
        Error,
    ));
    s.push(seed(
        "sealed-batch-count-low",
        sealed,
        &patch(batch.clone(), f0 + count, &3u32.to_le_bytes()),
        Error,
    ));
    s.push(seed(
        "sealed-batch-count-high",
        sealed,
        &patch(batch.clone(), f0 + count, &30u32.to_le_bytes()),
        Error,
    ));
    s.push(seed(
        "sealed-batch-first-seq",
        sealed,
        &patch(batch.clone(), f0 + 8, &2u64.to_le_bytes()),
        Error,
    ));
    s.push(seed(
        "sealed-batch-codec",
        sealed,
        &patch(batch.clone(), f0 + 5, &[2]),
        Error,
    ));
    s.push(seed(
        "sealed-batch-over-max",
        control(SEAL | MAX_64, 0, 0, 0),
        &batch,
        Error,
    ));
    // Decompresses to far more than it declares (4 KiB of zeros).
    let bomb = journal(
        zstd(),
        &[Op::BlockWrite {
            volume: 1,
            offset: 0,
            data: vec![0; 4096].into(),
        }],
    );
    s.push(seed(
        "sealed-batch-bomb",
        sealed,
        &patch(bomb, f0 + raw_len, &100u32.to_le_bytes()),
        Error,
    ));
    s
}

/// Features a roundtrip seed can add: which operations it writes
/// (compressed or not), and whether it has refused records or large payloads.
fn roundtrip_features(input: &Input) -> BTreeSet<String> {
    let compressed = if input.compressed() { "zstd" } else { "none" };
    let mut features = BTreeSet::new();
    for (op, valid) in input.ops() {
        if !valid {
            features.insert("invalid-field".to_string());
            continue;
        }
        features.insert(format!("{}-{compressed}", op.code().name()));
        let payload = match &op {
            Op::Write { data, .. } | Op::BlockWrite { data, .. } => data.len(),
            Op::SetXattr { value, .. } => value.len(),
            _ => 0,
        };
        if payload >= 64 << 10 {
            features.insert(format!("large-payload-{compressed}"));
        }
    }
    features
}

/// Random inputs, kept when they cover a feature no earlier one did.
fn roundtrip_seeds() -> Vec<Seed> {
    let mut covered = BTreeSet::new();
    let mut out = Vec::new();
    for i in 0..200_000u32 {
        let len = 48 + (i as usize * 7919) % 700;
        let data: Vec<u8> = pseudo_random(len * 2, i + 1)
            .chunks(2)
            .map(|p| p[0] << 4 | p[1] & 0x0F)
            .collect();
        let Some(input) = Input::parse(&data) else {
            continue;
        };
        let new: Vec<String> = roundtrip_features(&input)
            .into_iter()
            .filter(|f| !covered.contains(f))
            .collect();
        if let Some(first) = new.first() {
            out.push(Seed {
                name: format!("covers-{first}"),
                data,
                expect: Expect::Clean,
            });
            covered.extend(new);
        }
        // Every operation both ways, refused fields, large payloads both ways.
        if covered.len() == 2 * OpCode::ALL.len() + 3 {
            break;
        }
    }
    out
}

fn write(dir: &Path, seeds: &[Seed]) {
    std::fs::create_dir_all(dir).expect("create corpus directory");
    for entry in std::fs::read_dir(dir).expect("read corpus directory") {
        let entry = entry.expect("corpus entry");
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let found_by_fuzzer = name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit());
        if !found_by_fuzzer && !name.starts_with("regression-") {
            std::fs::remove_file(entry.path()).expect("remove old seed");
        }
    }
    for s in seeds {
        std::fs::write(dir.join(&s.name), &s.data).expect("write seed");
    }
}

fn outcome(data: &[u8]) -> Expect {
    match decode::decode_input(data) {
        Ok(End::Clean { .. }) => Expect::Clean,
        Ok(End::TornTail { .. }) => Expect::Torn,
        Err(_) => Expect::Error,
    }
}

#[test]
fn decode_seeds_end_as_named() {
    for s in decode_seeds() {
        assert_eq!(outcome(&s.data), s.expect, "seed {}", s.name);
        crate::journal_decode(&s.data);
    }
}

#[test]
fn roundtrip_corpus_covers_every_operation() {
    let mut covered = BTreeSet::new();
    for entry in std::fs::read_dir(corpus_dir("journal_roundtrip")).expect("corpus directory") {
        let data = std::fs::read(entry.expect("corpus entry").path()).expect("corpus file");
        if let Some(input) = Input::parse(&data) {
            covered.extend(roundtrip_features(&input));
        }
    }
    for code in OpCode::ALL {
        for codec in ["none", "zstd"] {
            let feature = format!("{}-{codec}", code.name());
            assert!(
                covered.contains(&feature),
                "no seed has {feature}: {covered:?}"
            );
        }
    }
}

#[test]
#[ignore = "writes the seed corpus into the source tree"]
fn regenerate_seed_corpus() {
    write(&corpus_dir("journal_decode"), &decode_seeds());
    write(&corpus_dir("journal_roundtrip"), &roundtrip_seeds());
}
