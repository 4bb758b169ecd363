//! `session_messages`: bytes from a session peer, which may be anyone.
//!
//! Input: a chunk-size byte, then the received stream. The stream is
//! decoded whole and in chunks of the chosen size; both must agree (the
//! same messages, then the same error or the same number of bytes left
//! waiting). Every decoded message must re-encode to exactly the bytes it
//! was decoded from, and nothing may panic or allocate beyond the body
//! limit.

use rha_core::session::{Message, MessageDecoder, MessageError, HEADER_LEN, PREFACE};

/// The body limit under test: small, so that oversized claims are common.
const MAX_BODY: usize = 4096;

/// Decodes `stream` in `chunk`-byte pieces: the messages, and the error
/// or the count of bytes left waiting.
fn decode(stream: &[u8], chunk: usize) -> (Vec<Message>, Result<usize, MessageError>) {
    let mut d = MessageDecoder::new().with_max_body(MAX_BODY);
    let mut out = Vec::new();
    for piece in stream.chunks(chunk.max(1)) {
        d.feed(piece);
        loop {
            match d.next_message() {
                Ok(Some(m)) => out.push(m),
                Ok(None) => break,
                Err(e) => return (out, Err(e)),
            }
        }
        assert!(
            d.buffered() <= HEADER_LEN + MAX_BODY + chunk.max(1),
            "the decoder holds {} bytes",
            d.buffered()
        );
    }
    let left = d.buffered();
    (out, Ok(left))
}

/// The fuzz target.
pub fn session_messages(data: &[u8]) {
    let Some((&chunk, stream)) = data.split_first() else {
        return;
    };
    let whole = decode(stream, stream.len());
    let chunked = decode(stream, usize::from(chunk % 64) + 1);
    assert_eq!(whole, chunked, "whole and chunked decoding disagree");
    let (messages, end) = whole;
    // Decoded messages are the stream's own bytes, re-encoded.
    let mut again = PREFACE.to_vec();
    for m in &messages {
        m.encode(&mut again);
    }
    if !messages.is_empty() {
        assert!(
            stream.starts_with(&again),
            "decoded messages do not re-encode to their bytes"
        );
    }
    if let Ok(left) = end {
        // Everything not decoded is waiting for more: a message's start
        // after the preface, or a preface not yet complete.
        let decoded = stream.len() - left;
        assert!(
            decoded == again.len() || (messages.is_empty() && decoded == 0),
            "{decoded} bytes decoded, {} re-encoded, of {}",
            again.len(),
            stream.len()
        );
    }
}

/// `session_peer`: a session of either role driven by a hostile peer.
///
/// Input: a control byte (bit 0: this side is the replica; bits 1..: the
/// chunk size), then steps of (kind, length, bytes): bytes from the peer,
/// time passing, or this side's own requests (send journal, ack, grant,
/// control, sync messages; a master can sync when bit 1 is set). Checks:
/// no panic; the output and the events stay bounded; sync messages reach
/// only the role they are for;
/// after a close, nothing more is accepted or sent but the close; a
/// replica only reports journal records in order, never beyond its window;
/// a master never sends more than the window it was granted.
pub fn session_peer(data: &[u8]) {
    use bytes::Bytes;
    use rha_core::ha::{Generations, Instant};
    use rha_core::session::{
        AckKind, Event, Point, Reason, Role, Session, SessionConfig, SyncReply, SyncRequest,
        MAX_WINDOW,
    };

    let Some((&control, mut steps)) = data.split_first() else {
        return;
    };
    let role = if control & 1 == 1 {
        Role::Replica
    } else {
        Role::Master
    };
    let chunk = usize::from(control >> 1) + 1;
    let mut config = SessionConfig::new(role, [9; 16], *b"fuzzed-scenario!");
    config.generations = Generations {
        current: 5,
        bitmap: 0,
        history: [4, 0],
    };
    config.stored = Point { epoch: 3, seq: 10 };
    config.applied = Point { epoch: 3, seq: 8 };
    config.window = 4096;
    config.max_body = 1 << 16;
    config.can_sync = control & 2 != 0;
    config.first_held = u64::from(control >> 4);
    let mut s = Session::new(config, Instant::from_nanos(0));
    let mut now = 0u64;
    let mut last_seq = None::<u64>;
    let mut granted: u64 = 0;
    let mut received: u64 = 0;
    let mut closed = false;
    while let [kind, len, rest @ ..] = steps {
        let n = usize::from(*len).min(rest.len());
        let (arg, tail) = rest.split_at(n);
        steps = tail;
        match kind % 7 {
            0 | 1 => {
                for c in arg.chunks(chunk) {
                    s.receive(c, Instant::from_nanos(now));
                }
            }
            2 => {
                now = now.saturating_add(u64::from(*len) * 250_000_000);
                s.handle_timeout(Instant::from_nanos(now));
            }
            3 => {
                let first = s.last_seq() + 1;
                let before = s.window();
                if s.send_journal(
                    first,
                    first + u64::from(*len % 4),
                    Bytes::copy_from_slice(arg),
                )
                .is_ok()
                {
                    assert!(arg.len() as u64 <= before, "sent beyond the window");
                    assert_eq!(s.window(), before - arg.len() as u64);
                }
            }
            4 => {
                let seq = u64::from(*len);
                let kind = if seq % 2 == 0 {
                    AckKind::Stored
                } else {
                    AckKind::Applied
                };
                let _ = s.ack(kind, Point { epoch: 3, seq });
            }
            5 => {
                let bytes = u64::from(*len) << 4;
                if s.grant(bytes).is_ok() {
                    granted = granted.saturating_add(bytes).min(MAX_WINDOW);
                }
            }
            _ => {
                let sent = match role {
                    Role::Master => s.send_sync(SyncRequest::Records {
                        id: u64::from(*len),
                        frames: Bytes::copy_from_slice(arg),
                    }),
                    Role::Replica => s.send_sync_reply(SyncReply::Tree {
                        id: u64::from(*len),
                        last: arg.is_empty(),
                        chunk: Bytes::copy_from_slice(arg),
                    }),
                };
                if sent.is_ok() {
                    assert!(s.is_connected(), "a sync message sent while not connected");
                }
            }
        }
        let out = s.take_output();
        assert!(
            out.len() <= (1 << 16) + 4096,
            "{} bytes of output",
            out.len()
        );
        if closed {
            assert!(out.is_empty(), "bytes sent after the close");
        }
        while let Some(e) = s.poll_event() {
            assert!(!closed, "an event after the close: {e:?}");
            match e {
                Event::Journal {
                    first,
                    last,
                    frames,
                    ..
                } => {
                    assert_eq!(role, Role::Replica);
                    if let Some(prev) = last_seq {
                        assert_eq!(first, prev + 1, "records out of order");
                    }
                    assert!(first <= last);
                    last_seq = Some(last);
                    received += frames.len() as u64;
                    assert!(
                        received <= 4096 + granted,
                        "{received} bytes received with {granted} granted"
                    );
                }
                Event::Sync(_) => assert_eq!(role, Role::Replica),
                Event::SyncReply(_) => assert_eq!(role, Role::Master),
                Event::Closed { reason, text, .. } => {
                    closed = true;
                    if reason == Reason::Protocol {
                        assert!(!text.is_empty(), "a protocol close without a reason");
                    }
                }
                _ => {}
            }
        }
        if closed {
            assert!(s.is_closed());
        }
    }
}

#[cfg(test)]
pub(crate) mod seeds {
    use bytes::Bytes;
    use rha_core::ha::Generations;
    use rha_core::journal::RelPath;
    use rha_core::session::{
        AckKind, Control, Hello, Message, Point, Reason, Role, SyncMode, SyncReply, SyncRequest,
        SyncScope, PREFACE,
    };

    /// (name, input) pairs: a chunk byte, then a stream.
    pub(crate) fn seeds() -> Vec<(String, Vec<u8>)> {
        let hello = Message::Hello(Hello {
            version_min: 1,
            version_max: 1,
            role: Role::Replica,
            node: [1; 16],
            scenario: [2; 16],
            generations: Generations {
                current: 5,
                bitmap: 4,
                history: [3, 2],
            },
            stored: Point { epoch: 1, seq: 10 },
            applied: Point { epoch: 1, seq: 9 },
            heartbeat_ms: 3000,
            max_body: 16 << 20,
            window: 1 << 20,
            name: "replica".into(),
        });
        let streams: Vec<(&str, Vec<Message>)> = vec![
            ("hello", vec![hello.clone()]),
            (
                "sync-scoped",
                vec![Message::Sync(SyncRequest::Begin {
                    id: 3,
                    mode: SyncMode::File,
                    ignore_same: true,
                    block_size: 65536,
                    scope: SyncScope::from_paths(&[
                        RelPath::new("logs").expect("path"),
                        RelPath::new("db/data.bin").expect("path"),
                    ]),
                })],
            ),
            (
                "handshake-and-journal",
                vec![
                    hello,
                    Message::Welcome {
                        version: 1,
                        resume_after: Point { epoch: 1, seq: 10 },
                        sync: false,
                    },
                    Message::Journal {
                        epoch: 1,
                        first: 11,
                        last: 12,
                        frames: Bytes::from_static(b"two journal frames"),
                    },
                    Message::Ack {
                        kind: AckKind::Stored,
                        at: Point { epoch: 1, seq: 12 },
                    },
                    Message::Window { bytes: 4096 },
                ],
            ),
            (
                "sync",
                vec![
                    Message::Welcome {
                        version: 1,
                        resume_after: Point { epoch: 1, seq: 10 },
                        sync: true,
                    },
                    Message::Sync(SyncRequest::Begin {
                        id: 1,
                        mode: SyncMode::Block,
                        ignore_same: false,
                        block_size: 65536,
                        scope: SyncScope::whole(),
                    }),
                    Message::SyncReply(SyncReply::Tree {
                        id: 1,
                        last: true,
                        chunk: Bytes::from_static(b"tree"),
                    }),
                    Message::Sync(SyncRequest::Blocks {
                        id: 1,
                        file: 1,
                        path: RelPath::new("a/b").unwrap_or_else(|_| unreachable!()),
                    }),
                    Message::SyncReply(SyncReply::Blocks {
                        id: 1,
                        file: 1,
                        last: true,
                        hashes: Bytes::from(vec![1u8; 32]),
                    }),
                    Message::Sync(SyncRequest::Records {
                        id: 1,
                        frames: Bytes::from_static(b"frames"),
                    }),
                    Message::Sync(SyncRequest::Check {
                        id: 1,
                        path: RelPath::new("a/b").unwrap_or_else(|_| unreachable!()),
                        len: 9,
                        by_blocks: true,
                        hash: [4; 32],
                    }),
                    Message::SyncReply(SyncReply::Mismatch {
                        id: 1,
                        path: RelPath::new("a/b").unwrap_or_else(|_| unreachable!()),
                    }),
                    Message::SyncReply(SyncReply::Progress {
                        id: 1,
                        records: 1,
                        bytes: 9,
                    }),
                    Message::Sync(SyncRequest::End {
                        id: 1,
                        replay_to: 10,
                        entries: 1,
                        bytes: 9,
                    }),
                    Message::SyncReply(SyncReply::Done { id: 1 }),
                ],
            ),
            (
                "control-and-close",
                vec![
                    Message::Heartbeat { sent: 1, echo: 0 },
                    Message::Control(Control::Pause),
                    Message::Control(Control::Bookmark {
                        at: Point { epoch: 1, seq: 12 },
                        name: "before".into(),
                    }),
                    Message::Control(Control::Resume),
                    Message::Close {
                        reason: Reason::Done,
                        text: "shutdown".into(),
                    },
                ],
            ),
        ];
        let mut out = Vec::new();
        for (name, messages) in streams {
            let mut bytes = vec![7u8];
            bytes.extend_from_slice(&PREFACE);
            for m in &messages {
                m.encode(&mut bytes);
            }
            out.push((name.to_string(), bytes));
        }
        out.push(("not-a-session".into(), b"\x03\x16\x03\x01\x00\xa5".to_vec()));
        out
    }

    /// Peer bytes as `session_peer` steps (kind 0, at most 255 bytes each).
    fn peer_bytes(steps: &mut Vec<u8>, bytes: &[u8]) {
        for c in bytes.chunks(255) {
            steps.push(0);
            steps.push(c.len() as u8);
            steps.extend_from_slice(c);
        }
    }

    fn hello(role: Role, stored: u64) -> Message {
        Message::Hello(Hello {
            version_min: 1,
            version_max: 1,
            role,
            node: [8; 16],
            scenario: *b"fuzzed-scenario!",
            generations: Generations {
                current: 5,
                bitmap: 0,
                history: [4, 0],
            },
            stored: Point {
                epoch: 3,
                seq: stored,
            },
            applied: Point::default(),
            heartbeat_ms: 1000,
            max_body: 1 << 20,
            window: 512,
            name: "peer".into(),
        })
    }

    /// (name, input) pairs for `session_peer`: a well-behaved peer of each
    /// role, so the fuzzer starts from connected sessions.
    pub(crate) fn peer_seeds() -> Vec<(String, Vec<u8>)> {
        let encode = |messages: &[Message]| {
            let mut out = PREFACE.to_vec();
            for m in messages {
                m.encode(&mut out);
            }
            out
        };
        // This side a replica (control bit 0 set), the peer a master.
        let mut replica = vec![1 | (6 << 1)];
        peer_bytes(
            &mut replica,
            &encode(&[
                hello(Role::Master, 20),
                Message::Welcome {
                    version: 1,
                    resume_after: Point { epoch: 3, seq: 10 },
                    sync: false,
                },
                Message::Journal {
                    epoch: 3,
                    first: 11,
                    last: 12,
                    frames: Bytes::from_static(b"frames"),
                },
                Message::Control(Control::Pause),
            ]),
        );
        replica.extend_from_slice(&[4, 12, 5, 3, 2, 4]); // ack, grant, time
                                                         // This side a master, the peer a replica.
        let mut master = vec![6 << 1];
        peer_bytes(&mut master, &encode(&[hello(Role::Replica, 10)]));
        master.extend_from_slice(&[3, 5, 1, 2, 3, 4, 5]); // journal 11..
        peer_bytes(&mut master, &{
            let mut b = Vec::new();
            Message::Ack {
                kind: AckKind::Stored,
                at: Point { epoch: 3, seq: 11 },
            }
            .encode(&mut b);
            Message::Window { bytes: 64 }.encode(&mut b);
            Message::Heartbeat { sent: 9, echo: 0 }.encode(&mut b);
            b
        });
        master.extend_from_slice(&[2, 200]); // silence: timeout
                                             // This side a replica that the master syncs first.
        let mut syncing = vec![1 | (6 << 1)];
        peer_bytes(
            &mut syncing,
            &encode(&[
                hello(Role::Master, 20),
                Message::Welcome {
                    version: 1,
                    resume_after: Point { epoch: 3, seq: 20 },
                    sync: true,
                },
                Message::Sync(SyncRequest::Begin {
                    id: 2,
                    mode: SyncMode::File,
                    ignore_same: true,
                    block_size: 65536,
                    scope: SyncScope::whole(),
                }),
                Message::Journal {
                    epoch: 3,
                    first: 21,
                    last: 21,
                    frames: Bytes::from_static(b"frames"),
                },
                Message::Sync(SyncRequest::End {
                    id: 2,
                    replay_to: 21,
                    entries: 0,
                    bytes: 0,
                }),
            ]),
        );
        vec![
            ("replica-connected".into(), replica),
            ("master-connected".into(), master),
            ("replica-syncing".into(), syncing),
        ]
    }
}
