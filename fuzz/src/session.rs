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

#[cfg(test)]
pub(crate) mod seeds {
    use bytes::Bytes;
    use rha_core::ha::Generations;
    use rha_core::session::{AckKind, Control, Hello, Message, Point, Reason, Role, PREFACE};

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
            window: 1 << 20,
            name: "replica".into(),
        });
        let streams: Vec<(&str, Vec<Message>)> = vec![
            ("hello", vec![hello.clone()]),
            (
                "handshake-and-journal",
                vec![
                    hello,
                    Message::Welcome {
                        version: 1,
                        resume_after: Point { epoch: 1, seq: 10 },
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
}
