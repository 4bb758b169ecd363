//! The replication session between a master and a replica: its messages
//! and their encoding (`docs/session-protocol.md`).
//!
//! The session is sans-IO: bytes in, messages out, and messages in, bytes
//! out; no sockets, threads or clocks. This module holds its wire format:
//! the [`Message`]s, [`Message::encode`], and the incremental
//! [`MessageDecoder`], which accepts any chunking of the byte stream and
//! bounds every allocation.
//!
//! ```
//! use rha_core::session::{Message, MessageDecoder, AckKind, Point, PREFACE};
//!
//! let mut wire = PREFACE.to_vec();
//! Message::Window { bytes: 1 << 20 }.encode(&mut wire);
//! Message::Ack { kind: AckKind::Stored, at: Point { epoch: 1, seq: 42 } }.encode(&mut wire);
//!
//! let mut decoder = MessageDecoder::new();
//! let mut got = Vec::new();
//! for chunk in wire.chunks(5) {
//!     decoder.feed(chunk);
//!     while let Some(m) = decoder.next_message()? {
//!         got.push(m);
//!     }
//! }
//! assert_eq!(got.len(), 2);
//! assert_eq!(got[0], Message::Window { bytes: 1 << 20 });
//! # Ok::<(), rha_core::session::MessageError>(())
//! ```

mod decode;
mod error;
mod message;

pub use decode::MessageDecoder;
pub use error::MessageError;
pub use message::{
    AckKind, Control, Hello, Message, NodeId, Point, Reason, Role, ScenarioId, DEFAULT_MAX_BODY,
    HEADER_LEN, MAX_TEXT, PREFACE, VERSION_MAX, VERSION_MIN,
};

#[cfg(test)]
mod tests;
