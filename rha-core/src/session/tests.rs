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
        },
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
    let framed = |kind: u8, body: &[u8]| {
        let mut out = PREFACE.to_vec();
        let mut h = [0u8; HEADER_LEN];
        h[0..4].copy_from_slice(&(body.len() as u32).to_le_bytes());
        h[4] = kind;
        let crc = crate::journal::crc::crc32c_append(crate::journal::crc::crc32c(&h[..8]), body);
        h[8..12].copy_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&h);
        out.extend_from_slice(body);
        decode_chunked(&out, &[5])
    };
    assert_eq!(
        framed(200, b""),
        Err(MessageError::UnknownType {
            offset: 8,
            kind: 200
        })
    );
    let malformed = |r: Result<Vec<Message>, MessageError>| match r {
        Err(MessageError::Malformed { message, what, .. }) => format!("{message}: {what}"),
        other => panic!("{other:?}"),
    };
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
        (any::<u16>(), arb_point()).prop_map(|(version, resume_after)| Message::Welcome {
            version,
            resume_after
        }),
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
