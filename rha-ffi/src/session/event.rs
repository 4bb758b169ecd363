//! What a session hands out, flattened into C structs with borrowed views:
//! its events (`rha_session_poll_event`) and the peer's hello
//! (`rha_session_peer`).

use rha_core::session::{Control, Event, Hello};

use super::types::{
    reason_code, rha_session_ack_kind, rha_session_control_kind, rha_session_generations,
    rha_session_point, rha_session_role,
};
use crate::buffer::rha_bytes;

/// What happened (`rha_session_event.kind`). Values never change; later
/// versions may add kinds, which a caller should skip.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_session_event_kind {
    /// The handshake is done: `version`, `resume_after`, `sync_needed`;
    /// the peer's hello is available from `rha_session_peer`.
    RHA_SESSION_EVENT_CONNECTED = 1,
    /// A replica received the journal frames `frames` of records
    /// `first..=last` of `epoch`, the next in order.
    RHA_SESSION_EVENT_JOURNAL = 2,
    /// A master heard that records up to `at` are stored or applied
    /// (`ack_kind`).
    RHA_SESSION_EVENT_ACKED = 3,
    /// A replica received a control request: `control`, and for a
    /// bookmark `at` and `name`.
    RHA_SESSION_EVENT_CONTROL = 4,
    /// Nothing was heard from the peer within the timeout (a
    /// `RHA_SESSION_EVENT_CLOSED` with reason timeout follows).
    RHA_SESSION_EVENT_SILENT = 5,
    /// The session ended: `reason`, `text`, `by_peer`. The last event.
    RHA_SESSION_EVENT_CLOSED = 6,
}

closed_set!(rha_session_event_kind {
    RHA_SESSION_EVENT_CONNECTED,
    RHA_SESSION_EVENT_JOURNAL,
    RHA_SESSION_EVENT_ACKED,
    RHA_SESSION_EVENT_CONTROL,
    RHA_SESSION_EVENT_SILENT,
    RHA_SESSION_EVENT_CLOSED,
});

/// An event handed out by `rha_session_poll_event`. Fields that do not
/// belong to the event's kind are zero (views empty).
///
/// The views `frames`, `name` and `text` are borrowed from the session:
/// valid until the next `rha_session_poll_event` on the same session or its
/// free, whichever comes first. Copy the bytes to keep them longer.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rha_session_event {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// An `rha_session_event_kind` value.
    pub kind: u32,
    /// Connected: the protocol version spoken.
    pub version: u32,
    /// Connected: the replica's data must be synchronised before the
    /// journal can follow (it is empty, older than the master's generation,
    /// or of another epoch).
    pub sync_needed: bool,
    /// Connected: the journal resumes after this point (the replica's
    /// stored point, or the start of the master's epoch).
    pub resume_after: rha_session_point,
    /// Journal: the journal's epoch.
    pub epoch: u64,
    /// Journal: the first record's sequence number.
    pub first: u64,
    /// Journal: the last record's sequence number.
    pub last: u64,
    /// Journal: the frames, as the journal encodes them (without the
    /// journal's stream header; possibly a zstd batch frame).
    pub frames: rha_bytes,
    /// Acked: an `rha_session_ack_kind` value.
    pub ack_kind: u32,
    /// Acked: records up to here. Control (bookmark): where the bookmark
    /// goes.
    pub at: rha_session_point,
    /// Control: an `rha_session_control_kind` value.
    pub control: u32,
    /// Control (bookmark): the bookmark's name (UTF-8).
    pub name: rha_bytes,
    /// Closed: the reason, an `rha_session_reason` value (or a code a later
    /// version of the peer sent).
    pub reason: u32,
    /// Closed: details for logs (UTF-8).
    pub text: rha_bytes,
    /// Closed: the peer ended the session (false: this side did).
    pub by_peer: bool,
}

impl Default for rha_session_event {
    fn default() -> Self {
        Self {
            struct_size: 0,
            kind: 0,
            version: 0,
            sync_needed: false,
            resume_after: rha_session_point::default(),
            epoch: 0,
            first: 0,
            last: 0,
            frames: rha_bytes::EMPTY,
            ack_kind: 0,
            at: rha_session_point::default(),
            control: 0,
            name: rha_bytes::EMPTY,
            reason: 0,
            text: rha_bytes::EMPTY,
            by_peer: false,
        }
    }
}

/// The flat form of `e`, its views borrowing from `e`.
pub(crate) fn flatten_event(e: &Event) -> rha_session_event {
    use rha_session_event_kind::*;
    let mut out = rha_session_event::default();
    let kind = match e {
        Event::Connected {
            version,
            resume_after,
            sync_needed,
            ..
        } => {
            out.version = u32::from(*version);
            out.resume_after = (*resume_after).into();
            out.sync_needed = *sync_needed;
            RHA_SESSION_EVENT_CONNECTED
        }
        Event::Journal {
            epoch,
            first,
            last,
            frames,
        } => {
            out.epoch = *epoch;
            out.first = *first;
            out.last = *last;
            out.frames = rha_bytes::borrow(frames);
            RHA_SESSION_EVENT_JOURNAL
        }
        Event::Acked { kind, at } => {
            out.ack_kind = rha_session_ack_kind::from(*kind) as u32;
            out.at = (*at).into();
            RHA_SESSION_EVENT_ACKED
        }
        Event::Control(c) => {
            let control = match c {
                Control::Pause => rha_session_control_kind::RHA_SESSION_CONTROL_PAUSE,
                Control::Resume => rha_session_control_kind::RHA_SESSION_CONTROL_RESUME,
                Control::Bookmark { at, name } => {
                    out.at = (*at).into();
                    out.name = rha_bytes::borrow(name.as_bytes());
                    rha_session_control_kind::RHA_SESSION_CONTROL_BOOKMARK
                }
            };
            out.control = control as u32;
            RHA_SESSION_EVENT_CONTROL
        }
        Event::Silent => RHA_SESSION_EVENT_SILENT,
        Event::Closed {
            reason,
            text,
            by_peer,
        } => {
            out.reason = reason_code(*reason);
            out.text = rha_bytes::borrow(text.as_bytes());
            out.by_peer = *by_peer;
            RHA_SESSION_EVENT_CLOSED
        }
        // An event a later rha-core adds: the caller sees kind 0 and
        // skips it.
        _ => return out,
    };
    out.kind = kind as u32;
    out
}

/// The peer's hello, filled by `rha_session_peer`: what the peer said about
/// itself first. Its `name` view is borrowed from the session: valid until
/// the session is freed (the hello never changes once heard).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rha_session_hello {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// The lowest protocol version the peer speaks.
    pub version_min: u32,
    /// The highest.
    pub version_max: u32,
    /// The peer's role, an `rha_session_role` value.
    pub role: u32,
    /// The peer's identity.
    pub node: [u8; 16],
    /// The scenario the peer serves.
    pub scenario: [u8; 16],
    /// The peer's data generations.
    pub generations: rha_session_generations,
    /// A replica: its last record durable in its spool. A master: its last
    /// record held.
    pub stored: rha_session_point,
    /// A replica: its last record applied durably. A master: zero.
    pub applied: rha_session_point,
    /// The peer's heartbeat interval, milliseconds.
    pub heartbeat_ms: u32,
    /// The largest message body the peer accepts.
    pub max_body: u32,
    /// A replica: bytes of frames it accepted before its first grant. A
    /// master: 0.
    pub window: u64,
    /// The peer's name for logs (UTF-8).
    pub name: rha_bytes,
}

impl Default for rha_session_hello {
    fn default() -> Self {
        Self {
            struct_size: 0,
            version_min: 0,
            version_max: 0,
            role: 0,
            node: [0; 16],
            scenario: [0; 16],
            generations: rha_session_generations::default(),
            stored: rha_session_point::default(),
            applied: rha_session_point::default(),
            heartbeat_ms: 0,
            max_body: 0,
            window: 0,
            name: rha_bytes::EMPTY,
        }
    }
}

sized_struct!(rha_session_event, rha_session_hello);

/// The flat form of `h`, its name borrowing from `h`.
pub(crate) fn flatten_hello(h: &Hello) -> rha_session_hello {
    rha_session_hello {
        struct_size: 0,
        version_min: u32::from(h.version_min),
        version_max: u32::from(h.version_max),
        role: rha_session_role::from(h.role) as u32,
        node: h.node,
        scenario: h.scenario,
        generations: h.generations.into(),
        stored: h.stored.into(),
        applied: h.applied.into(),
        heartbeat_ms: h.heartbeat_ms,
        max_body: h.max_body,
        window: h.window,
        name: rha_bytes::borrow(h.name.as_bytes()),
    }
}
