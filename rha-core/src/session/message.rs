//! The session's messages and their encoding (`docs/session-protocol.md`).

use bytes::{BufMut, Bytes};

use super::sync::{SyncReply, SyncRequest};
use crate::ha::Generations;

/// The connection preface each side sends before its first message.
pub const PREFACE: [u8; 8] = *b"\x89RHAS\r\n\x1a";

/// The protocol versions this implementation speaks.
pub const VERSION_MIN: u16 = 1;
/// See [`VERSION_MIN`].
pub const VERSION_MAX: u16 = 1;

/// Bytes of a message header.
pub const HEADER_LEN: usize = 12;

/// The default largest message body accepted (a journal message carries at
/// most this much of the journal).
pub const DEFAULT_MAX_BODY: usize = 16 << 20;

/// The smallest body limit a hello may announce: every message but a
/// journal message fits in it.
pub const MIN_PEER_BODY: usize = 4096;

/// The longest text a message carries (a node name, a reason, a bookmark
/// name), in bytes.
pub const MAX_TEXT: usize = 1024;

/// A node's identity: 16 bytes, unique per node (for example the first 16
/// bytes of its certificate's fingerprint).
pub type NodeId = [u8; 16];

/// A scenario's identity: 16 bytes, the same on both sides.
pub type ScenarioId = [u8; 16];

/// The side a node plays in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Sends its changes.
    Master,
    /// Stores and applies them.
    Replica,
}

impl Role {
    pub(crate) fn code(self) -> u8 {
        match self {
            Role::Master => 1,
            Role::Replica => 2,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Role::Master),
            2 => Some(Role::Replica),
            _ => None,
        }
    }
}

/// A point in a scenario's journal: the epoch (which master's journal) and
/// the sequence number of the last record covered (0: none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Point {
    /// The journal's epoch.
    pub epoch: u64,
    /// The last record's sequence number, 0 for none.
    pub seq: u64,
}

/// What each side says about itself first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The lowest protocol version the sender speaks.
    pub version_min: u16,
    /// The highest.
    pub version_max: u16,
    /// The sender's role.
    pub role: Role,
    /// The sender's identity.
    pub node: NodeId,
    /// The scenario the sender serves.
    pub scenario: ScenarioId,
    /// The sender's data generations (who may be the source: see
    /// [`crate::ha::MirrorNode`]).
    pub generations: Generations,
    /// A replica: the last record stored durably in its spool. A master:
    /// the last record it holds.
    pub stored: Point,
    /// A replica: the last record applied durably. A master: zero.
    pub applied: Point,
    /// The sender's heartbeat interval, milliseconds.
    pub heartbeat_ms: u32,
    /// The largest message body the sender accepts: the peer sends none
    /// larger.
    pub max_body: u32,
    /// Bytes of journal the sender accepts before its first
    /// [`Message::Window`] (a master sends 0).
    pub window: u64,
    /// A name for logs (the host name), at most [`MAX_TEXT`] bytes.
    pub name: String,
}

/// Why a session was refused or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// An orderly end (shutdown, operator).
    Done,
    /// No protocol version in common.
    Version,
    /// The peer serves another scenario.
    Scenario,
    /// Both sides claim the same role.
    Role,
    /// The replica's data is newer than the master's, or the two diverged:
    /// an operator must decide.
    Generations,
    /// The peer broke the protocol (a malformed or unexpected message).
    Protocol,
    /// Nothing heard from the peer within the timeout.
    Timeout,
    /// The peer ran out of space (spool or disk).
    Full,
    /// A failure on the sender's side (storage, apply).
    Failure,
    /// A code this version does not know (kept for logs).
    Other(u16),
}

impl Reason {
    pub(crate) fn code(self) -> u16 {
        match self {
            Reason::Done => 0,
            Reason::Version => 1,
            Reason::Scenario => 2,
            Reason::Role => 3,
            Reason::Generations => 4,
            Reason::Protocol => 5,
            Reason::Timeout => 6,
            Reason::Full => 7,
            Reason::Failure => 8,
            Reason::Other(c) => c,
        }
    }

    pub(crate) fn from_code(code: u16) -> Self {
        match code {
            0 => Reason::Done,
            1 => Reason::Version,
            2 => Reason::Scenario,
            3 => Reason::Role,
            4 => Reason::Generations,
            5 => Reason::Protocol,
            6 => Reason::Timeout,
            7 => Reason::Full,
            8 => Reason::Failure,
            c => Reason::Other(c),
        }
    }
}

/// Which acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AckKind {
    /// The records are durable in the replica's spool (the master may
    /// reclaim its own copy).
    Stored,
    /// The records are applied durably to the replica's data.
    Applied,
}

/// A control request from the master to the replica.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// Stop applying (keep storing).
    Pause,
    /// Apply again.
    Resume,
    /// Set a bookmark on the live replica, after the records up to `at`.
    Bookmark {
        /// Where the bookmark goes.
        at: Point,
        /// Its name, at most [`MAX_TEXT`] bytes.
        name: String,
    },
}

/// One message of the session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// The first message of each side.
    Hello(Hello),
    /// The master accepts the replica: the version spoken from now on, and
    /// where the journal resumes (the first record it will send follows
    /// `resume_after`).
    Welcome {
        /// The version both speak.
        version: u16,
        /// The replica's point the master resumes after.
        resume_after: Point,
        /// A sync comes first ([`Message::Sync`]): the replica's data is
        /// not at `resume_after` yet. The journal continues after
        /// `resume_after` meanwhile; the replica stores it and applies it
        /// once the sync is done.
        sync: bool,
    },
    /// The session is refused or ends; the sender closes after it.
    Close {
        /// Why.
        reason: Reason,
        /// Details for logs, at most [`MAX_TEXT`] bytes.
        text: String,
    },
    /// Journal frames (the journal's own encoding, without the stream
    /// header) holding the records `first..=last` of `epoch`.
    Journal {
        /// The journal's epoch.
        epoch: u64,
        /// The first record's sequence number.
        first: u64,
        /// The last record's sequence number.
        last: u64,
        /// The frames.
        frames: Bytes,
    },
    /// Records up to `at` are stored or applied durably.
    Ack {
        /// Which.
        kind: AckKind,
        /// Up to where.
        at: Point,
    },
    /// The replica accepts `bytes` more bytes of journal frames.
    Window {
        /// The credit added.
        bytes: u64,
    },
    /// I am alive; `echo` returns the last `sent` heard from the peer, so
    /// each side can measure the round trip on its own clock.
    Heartbeat {
        /// The sender's clock, milliseconds (opaque to the peer).
        sent: u64,
        /// The last `sent` heard from the peer.
        echo: u64,
    },
    /// A control request.
    Control(Control),
    /// A sync message from the master.
    Sync(SyncRequest),
    /// A sync message from the replica.
    SyncReply(SyncReply),
}

pub(crate) const T_HELLO: u8 = 1;
pub(crate) const T_WELCOME: u8 = 2;
pub(crate) const T_CLOSE: u8 = 3;
pub(crate) const T_JOURNAL: u8 = 4;
pub(crate) const T_ACK: u8 = 5;
pub(crate) const T_WINDOW: u8 = 6;
pub(crate) const T_HEARTBEAT: u8 = 7;
pub(crate) const T_CONTROL: u8 = 8;
pub(crate) const T_SYNC: u8 = 9;
pub(crate) const T_SYNC_REPLY: u8 = 10;

/// The welcome's flag: a sync comes first.
pub(crate) const WELCOME_SYNC: u8 = 1;

pub(crate) const CONTROL_PAUSE: u8 = 1;
pub(crate) const CONTROL_RESUME: u8 = 2;
pub(crate) const CONTROL_BOOKMARK: u8 = 3;

impl Message {
    /// The message's type code on the wire.
    pub fn type_code(&self) -> u8 {
        match self {
            Message::Hello(_) => T_HELLO,
            Message::Welcome { .. } => T_WELCOME,
            Message::Close { .. } => T_CLOSE,
            Message::Journal { .. } => T_JOURNAL,
            Message::Ack { .. } => T_ACK,
            Message::Window { .. } => T_WINDOW,
            Message::Heartbeat { .. } => T_HEARTBEAT,
            Message::Control(_) => T_CONTROL,
            Message::Sync(_) => T_SYNC,
            Message::SyncReply(_) => T_SYNC_REPLY,
        }
    }

    /// The message's name, for logs and errors.
    pub fn name(&self) -> &'static str {
        type_name(self.type_code())
    }

    /// Appends the encoded message (header and body) to `out`. Text longer
    /// than [`MAX_TEXT`] is cut at a character boundary.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        // A journal message's body is known in size: one allocation, not a
        // doubling series of them and their copies.
        match self {
            Message::Journal { frames, .. }
            | Message::Sync(SyncRequest::Records { frames, .. }) => {
                out.reserve(HEADER_LEN + 24 + frames.len());
            }
            _ => {}
        }
        out.extend_from_slice(&[0u8; HEADER_LEN]);
        self.encode_body(out);
        let body_len = out.len() - start - HEADER_LEN;
        let mut header = [0u8; HEADER_LEN];
        header[0..4].copy_from_slice(&(body_len as u32).to_le_bytes());
        header[4] = self.type_code();
        // Bytes 5..8: flags and reserved, zero.
        let crc = crate::journal::crc::crc32c(&header[0..8]);
        let crc = crate::journal::crc::crc32c_append(crc, &out[start + HEADER_LEN..]);
        header[8..12].copy_from_slice(&crc.to_le_bytes());
        out[start..start + HEADER_LEN].copy_from_slice(&header);
    }

    fn encode_body(&self, out: &mut Vec<u8>) {
        match self {
            Message::Hello(h) => {
                out.put_u16_le(h.version_min);
                out.put_u16_le(h.version_max);
                out.put_u8(h.role.code());
                out.put_slice(&[0; 3]);
                out.put_slice(&h.node);
                out.put_slice(&h.scenario);
                put_generations(out, &h.generations);
                put_point(out, h.stored);
                put_point(out, h.applied);
                out.put_u32_le(h.heartbeat_ms);
                out.put_u32_le(h.max_body);
                out.put_u64_le(h.window);
                put_text(out, &h.name);
            }
            Message::Welcome {
                version,
                resume_after,
                sync,
            } => {
                out.put_u16_le(*version);
                put_point(out, *resume_after);
                out.put_u8(if *sync { WELCOME_SYNC } else { 0 });
            }
            Message::Close { reason, text } => {
                out.put_u16_le(reason.code());
                put_text(out, text);
            }
            Message::Journal {
                epoch,
                first,
                last,
                frames,
            } => {
                out.put_u64_le(*epoch);
                out.put_u64_le(*first);
                out.put_u64_le(*last);
                out.put_slice(frames);
            }
            Message::Ack { kind, at } => {
                out.put_u8(match kind {
                    AckKind::Stored => 1,
                    AckKind::Applied => 2,
                });
                put_point(out, *at);
            }
            Message::Window { bytes } => out.put_u64_le(*bytes),
            Message::Heartbeat { sent, echo } => {
                out.put_u64_le(*sent);
                out.put_u64_le(*echo);
            }
            Message::Control(c) => match c {
                Control::Pause => out.put_u8(CONTROL_PAUSE),
                Control::Resume => out.put_u8(CONTROL_RESUME),
                Control::Bookmark { at, name } => {
                    out.put_u8(CONTROL_BOOKMARK);
                    put_point(out, *at);
                    put_text(out, name);
                }
            },
            Message::Sync(r) => r.encode_body(out),
            Message::SyncReply(r) => r.encode_body(out),
        }
    }
}

/// The name of message type `code`.
pub(crate) fn type_name(code: u8) -> &'static str {
    match code {
        T_HELLO => "hello",
        T_WELCOME => "welcome",
        T_CLOSE => "close",
        T_JOURNAL => "journal",
        T_ACK => "ack",
        T_WINDOW => "window",
        T_HEARTBEAT => "heartbeat",
        T_CONTROL => "control",
        T_SYNC => "sync",
        T_SYNC_REPLY => "sync_reply",
        _ => "unknown",
    }
}

fn put_point(out: &mut Vec<u8>, p: Point) {
    out.put_u64_le(p.epoch);
    out.put_u64_le(p.seq);
}

fn put_generations(out: &mut Vec<u8>, g: &Generations) {
    out.put_u64_le(g.current);
    out.put_u64_le(g.bitmap);
    for h in g.history {
        out.put_u64_le(h);
    }
}

/// A 16-bit length and the UTF-8 bytes, cut to [`MAX_TEXT`] at a
/// character boundary.
fn put_text(out: &mut Vec<u8>, text: &str) {
    let mut end = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    out.put_u16_le(end as u16);
    out.put_slice(&text.as_bytes()[..end]);
}
