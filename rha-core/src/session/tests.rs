#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::ha::Generations;

fn hello() -> Hello {
    Hello {
        version_min: 1,
        version_max: 3,
        role: Role::Replica,
        node: [7; 16],
        scenario: *b"scenario-0123456",
        generations: Generations {
            current: 0x1111,
            bitmap: 0x2222,
            history: [0x3333, 0x4444],
        },
        stored: Point { epoch: 2, seq: 900 },
        applied: Point { epoch: 2, seq: 850 },
        heartbeat_ms: 3000,
        max_body: 16 << 20,
        window: 8 << 20,
        name: "replica-host é".into(),
    }
}

/// One message of every kind.
fn every_kind() -> Vec<Message> {
    vec![
        Message::Hello(hello()),
        Message::Welcome {
            version: 1,
            resume_after: Point { epoch: 2, seq: 900 },
            sync: false,
        },
        Message::Welcome {
            version: 1,
            resume_after: Point { epoch: 2, seq: 900 },
            sync: true,
        },
        Message::Sync(SyncRequest::Begin {
            id: 4,
            mode: SyncMode::Block,
            ignore_same: true,
            block_size: 64 << 10,
            scope: SyncScope::from_paths(&[
                crate::journal::RelPath::new("a/b").unwrap(),
                crate::journal::RelPath::new("c").unwrap(),
            ]),
        }),
        Message::Sync(SyncRequest::Records {
            id: 4,
            frames: Bytes::from_static(b"sync records as journal frames"),
        }),
        Message::Sync(SyncRequest::Blocks {
            id: 4,
            file: 9,
            path: crate::journal::RelPath::new("dir/file").unwrap(),
        }),
        Message::Sync(SyncRequest::Check {
            id: 4,
            path: crate::journal::RelPath::new("dir/file").unwrap(),
            len: 123,
            by_blocks: true,
            hash: [0xab; FILE_HASH_LEN],
        }),
        Message::Sync(SyncRequest::End {
            id: 4,
            replay_to: 950,
            entries: 12,
            bytes: 1 << 30,
        }),
        Message::SyncReply(SyncReply::Tree {
            id: 4,
            last: false,
            chunk: Bytes::from_static(b"signature bytes"),
        }),
        Message::SyncReply(SyncReply::Blocks {
            id: 4,
            file: 9,
            last: true,
            hashes: Bytes::from(vec![7u8; 2 * BLOCK_HASH_LEN]),
        }),
        Message::SyncReply(SyncReply::Mismatch {
            id: 4,
            path: crate::journal::RelPath::new("dir/file").unwrap(),
        }),
        Message::SyncReply(SyncReply::Progress {
            id: 4,
            records: 100,
            bytes: 5000,
        }),
        Message::SyncReply(SyncReply::Done { id: 4 }),
        Message::Journal {
            epoch: 2,
            first: 901,
            last: 903,
            frames: Bytes::from_static(b"frames as the journal encodes them"),
        },
        Message::Ack {
            kind: AckKind::Stored,
            at: Point { epoch: 2, seq: 903 },
        },
        Message::Ack {
            kind: AckKind::Applied,
            at: Point { epoch: 2, seq: 901 },
        },
        Message::Window { bytes: 1 << 20 },
        Message::Heartbeat { sent: 5, echo: 4 },
        Message::Control(Control::Pause),
        Message::Control(Control::Resume),
        Message::Control(Control::Bookmark {
            at: Point { epoch: 2, seq: 903 },
            name: "before upgrade".into(),
        }),
        Message::Close {
            reason: Reason::Generations,
            text: "the replica's data is newer".into(),
        },
        Message::Close {
            reason: Reason::Other(999),
            text: String::new(),
        },
    ]
}

fn wire(messages: &[Message]) -> Vec<u8> {
    let mut out = PREFACE.to_vec();
    for m in messages {
        m.encode(&mut out);
    }
    out
}

/// Decodes `bytes` fed in pieces of the given lengths (cycled), which must
/// end with a complete message.
fn decode_chunked(bytes: &[u8], pieces: &[usize]) -> Result<Vec<Message>, MessageError> {
    let (messages, left) = decode_lenient(bytes, pieces)?;
    assert_eq!(left, 0, "bytes left undecoded");
    Ok(messages)
}

/// [`decode_chunked`], also returning how many bytes wait for more.
fn decode_lenient(bytes: &[u8], pieces: &[usize]) -> Result<(Vec<Message>, usize), MessageError> {
    let mut d = MessageDecoder::new();
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < bytes.len() {
        let n = pieces
            .get(i % pieces.len().max(1))
            .copied()
            .unwrap_or(1)
            .max(1);
        let end = (at + n).min(bytes.len());
        d.feed(&bytes[at..end]);
        at = end;
        i += 1;
        while let Some(m) = d.next_message()? {
            out.push(m);
        }
    }
    Ok((out, d.buffered()))
}

#[test]
fn every_message_comes_back_as_it_was_sent() {
    let messages = every_kind();
    let bytes = wire(&messages);
    assert_eq!(decode_chunked(&bytes, &[1]).unwrap(), messages);
    assert_eq!(decode_chunked(&bytes, &[bytes.len()]).unwrap(), messages);
}

#[test]
fn long_text_is_cut_at_a_character_boundary() {
    let name = "é".repeat(MAX_TEXT); // 2 bytes each
    let mut h = hello();
    h.name = name;
    let bytes = wire(&[Message::Hello(h)]);
    let got = decode_chunked(&bytes, &[7]).unwrap();
    let Message::Hello(h) = &got[0] else {
        panic!("{got:?}")
    };
    assert_eq!(h.name.len(), MAX_TEXT);
    assert!(h.name.chars().all(|c| c == 'é'));
}

#[test]
fn a_stream_without_the_preface_is_refused_at_once() {
    let mut d = MessageDecoder::new();
    d.feed(b"\x16\x03\x01"); // a TLS client hello
    assert_eq!(d.next_message(), Err(MessageError::Preface));
    assert_eq!(d.next_message(), Err(MessageError::Failed));
    // A partial preface waits for more.
    let mut d = MessageDecoder::new();
    d.feed(&PREFACE[..3]);
    assert_eq!(d.next_message(), Ok(None));
}

#[test]
fn a_huge_claimed_length_is_refused_before_it_is_buffered() {
    let mut bytes = PREFACE.to_vec();
    let mut header = [0u8; HEADER_LEN];
    header[0..4].copy_from_slice(&u32::MAX.to_le_bytes());
    header[4] = 4;
    bytes.extend_from_slice(&header);
    let mut d = MessageDecoder::new().with_max_body(1 << 20);
    d.feed(&bytes);
    assert_eq!(
        d.next_message(),
        Err(MessageError::TooLarge {
            offset: 8,
            len: u32::MAX as usize,
            max: 1 << 20
        })
    );
}

/// A message of type `kind` with `body`, correctly framed, decoded.
fn framed(kind: u8, body: &[u8]) -> Result<Vec<Message>, MessageError> {
    let mut out = PREFACE.to_vec();
    let mut h = [0u8; HEADER_LEN];
    h[0..4].copy_from_slice(&(body.len() as u32).to_le_bytes());
    h[4] = kind;
    let crc = crate::journal::crc::crc32c_append(crate::journal::crc::crc32c(&h[..8]), body);
    h[8..12].copy_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(body);
    decode_chunked(&out, &[5])
}

/// What a malformed message's error says.
fn malformed(r: Result<Vec<Message>, MessageError>) -> String {
    match r {
        Err(MessageError::Malformed { message, what, .. }) => format!("{message}: {what}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn damaged_and_malformed_messages_are_named() {
    let good = wire(&[Message::Window { bytes: 5 }]);
    // A flipped body bit.
    let mut bytes = good.clone();
    *bytes.last_mut().unwrap() ^= 1;
    assert_eq!(
        decode_chunked(&bytes, &[3]),
        Err(MessageError::Crc { offset: 8 })
    );
    // Nonzero flags.
    let mut bytes = good.clone();
    bytes[8 + 5] = 1;
    assert_eq!(
        decode_chunked(&bytes, &[64]),
        Err(MessageError::Flags { offset: 8 })
    );
    // Well-framed bodies that are wrong.
    assert_eq!(
        framed(200, b""),
        Err(MessageError::UnknownType {
            offset: 8,
            kind: 200
        })
    );
    assert_eq!(malformed(framed(6, &[1, 2, 3])), "window: a short window");
    assert_eq!(
        malformed(framed(6, &[0; 9])),
        "window: bytes after the end of the body"
    );
    assert_eq!(
        malformed(framed(5, &[3; 17])),
        "ack: an unknown acknowledgement kind"
    );
    let mut journal = Vec::new();
    for v in [1u64, 5, 4] {
        journal.extend_from_slice(&v.to_le_bytes());
    }
    journal.push(0);
    assert_eq!(
        malformed(framed(4, &journal)),
        "journal: a record range that is empty or starts at 0"
    );
    let mut close = 0u16.to_le_bytes().to_vec();
    close.extend_from_slice(&2u16.to_le_bytes());
    close.extend_from_slice(&[0xff, 0xfe]);
    assert_eq!(
        malformed(framed(3, &close)),
        "close: text that is not UTF-8"
    );
    let mut hello = 3u16.to_le_bytes().to_vec();
    hello.extend_from_slice(&1u16.to_le_bytes());
    assert_eq!(
        malformed(framed(1, &hello)),
        "hello: a version range whose minimum exceeds its maximum"
    );
}

fn arb_point() -> impl Strategy<Value = Point> {
    (any::<u64>(), any::<u64>()).prop_map(|(epoch, seq)| Point { epoch, seq })
}

fn arb_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (any::<u16>(), arb_point(), any::<bool>()).prop_map(|(version, resume_after, sync)| {
            Message::Welcome {
                version,
                resume_after,
                sync,
            }
        }),
        (any::<u64>(), proptest::collection::vec(any::<u8>(), 1..300)).prop_map(|(id, f)| {
            Message::Sync(SyncRequest::Records {
                id,
                frames: f.into(),
            })
        }),
        (any::<u64>(), "[a-z]{1,8}(/[a-z]{1,8}){0,3}", any::<u64>()).prop_map(|(id, p, len)| {
            Message::Sync(SyncRequest::Check {
                id,
                path: crate::journal::RelPath::new(p).unwrap(),
                len,
                by_blocks: len % 2 == 0,
                hash: [3; FILE_HASH_LEN],
            })
        }),
        (any::<u64>(), any::<u64>(), any::<bool>(), 0..20usize).prop_map(|(id, file, last, n)| {
            Message::SyncReply(SyncReply::Blocks {
                id,
                file,
                last,
                hashes: vec![5u8; n * BLOCK_HASH_LEN].into(),
            })
        }),
        (
            any::<u64>(),
            any::<bool>(),
            proptest::collection::vec(any::<u8>(), 0..100)
        )
            .prop_map(|(id, last, c)| Message::SyncReply(SyncReply::Tree {
                id,
                last,
                chunk: c.into()
            })),
        (
            any::<u64>(),
            1..u64::MAX / 2,
            0..1000u64,
            proptest::collection::vec(any::<u8>(), 1..300)
        )
            .prop_map(|(epoch, first, more, frames)| Message::Journal {
                epoch,
                first,
                last: first + more,
                frames: frames.into(),
            }),
        (any::<bool>(), arb_point()).prop_map(|(s, at)| Message::Ack {
            kind: if s { AckKind::Stored } else { AckKind::Applied },
            at
        }),
        any::<u64>().prop_map(|bytes| Message::Window { bytes }),
        (any::<u64>(), any::<u64>()).prop_map(|(sent, echo)| Message::Heartbeat { sent, echo }),
        (arb_point(), "[a-z é]{0,40}")
            .prop_map(|(at, name)| Message::Control(Control::Bookmark { at, name })),
        (any::<u16>(), ".{0,40}").prop_map(|(code, text)| Message::Close {
            reason: Reason::from_code(code),
            text
        }),
    ]
}

proptest! {
    /// Any chunking of the byte stream gives the same messages.
    #[test]
    fn any_chunking_gives_the_same_messages(
        messages in proptest::collection::vec(arb_message(), 0..12),
        pieces in proptest::collection::vec(1usize..64, 1..8),
    ) {
        let bytes = wire(&messages);
        prop_assert_eq!(decode_chunked(&bytes, &pieces).unwrap(), messages);
    }

    /// Damage anywhere after the preface is an error, never a panic and
    /// never a different message taken as good.
    #[test]
    fn a_flipped_byte_is_caught(
        messages in proptest::collection::vec(arb_message(), 1..6),
        at in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let mut bytes = wire(&messages);
        let i = PREFACE.len() + at.index(bytes.len() - PREFACE.len());
        bytes[i] ^= 1 << bit;
        match decode_lenient(&bytes, &[17]) {
            Err(_) => {}
            // A flip in a length field can leave the stream waiting for
            // more: then it must not have produced all the messages.
            Ok((got, left)) => {
                prop_assert!(left > 0);
                prop_assert!(got.len() < messages.len());
                prop_assert_eq!(&got[..], &messages[..got.len()]);
            }
        }
    }
}

#[test]
fn malformed_sync_messages_are_named() {
    let id = 4u64.to_le_bytes();
    let with = |op: u8, rest: &[u8]| {
        let mut b = vec![op];
        b.extend_from_slice(&id);
        b.extend_from_slice(rest);
        b
    };
    let cases: Vec<(u8, Vec<u8>, &str)> = vec![
        (9, with(9, &[]), "sync: an unknown sync operation"),
        (
            9,
            with(1, &[3, 0, 0, 0, 1, 0]),
            "sync: an unknown sync mode",
        ),
        (
            9,
            with(1, &[1, 2, 0, 0, 1, 0]),
            "sync: a flag that is neither 0 nor 1",
        ),
        (
            9,
            with(1, &[1, 0, 0, 0x30, 0, 0]),
            "sync: a block size that is not a power of two from 4 KiB to 16 MiB",
        ),
        (9, with(2, &[]), "sync: no journal frames"),
        (
            9,
            with(
                3,
                &[0, 0, 0, 0, 0, 0, 0, 0, 5, 0, b'.', b'.', b'/', b'e', b't'],
            ),
            "sync: a path that is not a valid relative path",
        ),
        (
            9,
            with(3, &[0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x10]),
            "sync: a path longer than 4096 bytes",
        ),
        (
            10,
            with(2, &[0, 0, 0, 0, 0, 0, 0, 0, 1, 9]),
            "sync_reply: block hashes that are not 16 bytes each",
        ),
        (
            10,
            with(5, &[0]),
            "sync_reply: bytes after the end of the body",
        ),
        (10, with(7, &[]), "sync_reply: an unknown sync reply"),
    ];
    for (kind, body, want) in cases {
        let got = malformed(framed(kind, &body));
        assert_eq!(got, want);
    }
}
