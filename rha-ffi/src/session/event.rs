//! What a session hands out, flattened into C structs with borrowed views:
//! its events (`rha_session_poll_event`) and the peer's hello
//! (`rha_session_peer`).

use rha_core::session::{Control, Event, Hello};

use super::sync::{flatten_sync, flatten_sync_reply};
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
    /// The handshake is done: `version`, `resume_after`, `sync_needed`,
    /// `sync`; the peer's hello is available from `rha_session_peer`.
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
    /// A replica received a sync message from the master: `sync_kind` (an
    /// `rha_session_sync_kind` value), `sync_id` and the fields of that
    /// kind. Answer with `rha_session_send_sync_reply`.
    RHA_SESSION_EVENT_SYNC = 7,
    /// A master received a sync reply from the replica: `sync_kind` (an
    /// `rha_session_sync_reply_kind` value), `sync_id` and the fields of
    /// that kind.
    RHA_SESSION_EVENT_SYNC_REPLY = 8,
}

closed_set!(rha_session_event_kind {
    RHA_SESSION_EVENT_CONNECTED,
    RHA_SESSION_EVENT_JOURNAL,
    RHA_SESSION_EVENT_ACKED,
    RHA_SESSION_EVENT_CONTROL,
    RHA_SESSION_EVENT_SILENT,
    RHA_SESSION_EVENT_CLOSED,
    RHA_SESSION_EVENT_SYNC,
    RHA_SESSION_EVENT_SYNC_REPLY,
});

/// An event handed out by `rha_session_poll_event`. Fields that do not
/// belong to the event's kind are zero (views empty).
///
/// The views `frames`, `name`, `text`, `sync_path` and `sync_data` are
/// borrowed from the session: valid until the next `rha_session_poll_event`
/// on the same session or its free, whichever comes first. Copy the bytes
/// to keep them longer.
///
/// The fields from `sync_id` on were added after the first version of this
/// struct (a caller built with that version's size does not get them, nor
/// the sync events' details: it sees their kinds, which it skips).
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
    // The fields below came after the first version. The first of them is
    // 8-byte aligned, so it starts at that version's size (a smaller field
    // would land in its tail padding).
    /// Sync, sync reply: the run the message belongs to.
    pub sync_id: u64,
    /// Connected: a sync over this session comes first (the master can
    /// sync and the replica needs it): the master runs it with
    /// `rha_session_send_sync`, the replica answers it; the journal
    /// continues after `resume_after` meanwhile, and the replica applies it
    /// only once the sync is done.
    pub sync: bool,
    /// Sync: an `rha_session_sync_kind` value. Sync reply: an
    /// `rha_session_sync_reply_kind` value. Expect values a later version
    /// adds (skip them).
    pub sync_kind: u32,
    /// Sync begin: how files on both sides are compared, an `rha_sync_mode`
    /// value.
    pub sync_mode: u32,
    /// Sync begin: the block size of a block-level sync (a power of two
    /// from 4096 to 16 MiB).
    pub sync_block_size: u32,
    /// Sync begin: files of the same size and modification time count as
    /// equal.
    pub sync_ignore_same: bool,
    /// Sync check: `sync_hash` is BLAKE3 of the 16-byte hashes of the file's
    /// blocks of the run's block size, in order (false: of its content).
    pub sync_by_blocks: bool,
    /// Sync reply tree and blocks: this is the answer's last piece.
    pub sync_last: bool,
    /// Sync blocks, sync reply blocks: the request's number (the master's
    /// choice; the reply echoes it).
    pub sync_file: u64,
    /// Sync check: the file's length.
    pub sync_len: u64,
    /// Sync end: the last journal record the sync's content may include
    /// (`UINT64_MAX`: all, until the next sync); the replica applies the
    /// journal up to it in replay mode.
    pub sync_replay_to: u64,
    /// Sync end: entries the sync changed.
    pub sync_entries: u64,
    /// Sync end: bytes of file content sent. Sync reply progress: bytes of
    /// file content written.
    pub sync_bytes: u64,
    /// Sync reply progress: records applied.
    pub sync_records: u64,
    /// Sync check: the file's hash (BLAKE3, 32 bytes; see `sync_by_blocks`).
    pub sync_hash: [u8; 32],
    /// Sync blocks, sync check, sync reply mismatch: the file, a relative
    /// path as the journal encodes it (not necessarily UTF-8).
    pub sync_path: rha_bytes,
    /// Sync begin: the paths the run covers, each a 16-bit little-endian
    /// length and a relative path (empty: the whole tree). Sync records:
    /// the sync's journal frames (without the journal's stream header;
    /// records numbered from 1 within the run). Sync reply
    /// tree: a piece of the replica's tree signature. Sync reply blocks:
    /// block hashes, 16 bytes each.
    pub sync_data: rha_bytes,
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
            sync_id: 0,
            sync: false,
            sync_kind: 0,
            sync_mode: 0,
            sync_block_size: 0,
            sync_ignore_same: false,
            sync_by_blocks: false,
            sync_last: false,
            sync_file: 0,
            sync_len: 0,
            sync_replay_to: 0,
            sync_entries: 0,
            sync_bytes: 0,
            sync_records: 0,
            sync_hash: [0; 32],
            sync_path: rha_bytes::EMPTY,
            sync_data: rha_bytes::EMPTY,
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
            sync,
            ..
        } => {
            out.version = u32::from(*version);
            out.resume_after = (*resume_after).into();
            out.sync_needed = *sync_needed;
            out.sync = *sync;
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
        Event::Sync(request) => {
            flatten_sync(request, &mut out);
            RHA_SESSION_EVENT_SYNC
        }
        Event::SyncReply(reply) => {
            flatten_sync_reply(reply, &mut out);
            RHA_SESSION_EVENT_SYNC_REPLY
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

sized_struct!(
    rha_session_event,
    older: [std::mem::offset_of!(rha_session_event, sync_id)]
);
sized_struct!(rha_session_hello);

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
