//! The replication session between a master and a replica: its messages
//! and their encoding (`docs/session-protocol.md`).
//!
//! The session is sans-IO, in the style of quinn-proto: a [`Session`]
//! takes received bytes and the time, and hands back bytes to send,
//! [`Event`]s and its next deadline; no sockets, threads or clocks. Under
//! it lies the wire format: the [`Message`]s, [`Message::encode`], and the
//! incremental [`MessageDecoder`], which accepts any chunking of the byte
//! stream and bounds every allocation.
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
mod machine;
mod message;
mod scope;
mod sync;

pub use decode::MessageDecoder;
pub use error::MessageError;
pub use machine::{Event, Session, SessionConfig, SessionError, MAX_WINDOW};
pub use message::{
    AckKind, Control, Hello, Message, NodeId, Point, Reason, Role, ScenarioId, DEFAULT_MAX_BODY,
    HEADER_LEN, MAX_TEXT, MIN_PEER_BODY, PREFACE, VERSION_MAX, VERSION_MIN,
};
pub use scope::{ScopeError, SyncScope};
pub use sync::{
    SyncMode, SyncReply, SyncRequest, BLOCK_HASH_LEN, FILE_HASH_LEN, MAX_SYNC_BLOCK,
    MIN_SYNC_BLOCK, SYNC_BLOCKS_FIELDS, SYNC_RECORDS_FIELDS, SYNC_TREE_FIELDS,
};

#[cfg(test)]
mod machine_tests;
#[cfg(test)]
mod tests;
