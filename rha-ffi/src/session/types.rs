//! The flat C types of a session: its settings, points and generations,
//! and the closed sets (roles, acknowledgements, controls, reasons), with
//! their conversions.

use std::time::Duration;

use rha_core::ha::Generations;
use rha_core::session::{AckKind, Point, Reason, Role, SessionConfig, DEFAULT_MAX_BODY};

use crate::agent::flag_field;
use crate::buffer::rha_bytes;
use crate::error::rha_error;
use crate::ha::types::utf8_field;

/// The side a session plays (`rha_session_config.role`). Values never
/// change.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_session_role {
    /// Sends its journal.
    RHA_SESSION_MASTER = 1,
    /// Stores and applies the master's journal.
    RHA_SESSION_REPLICA = 2,
}

closed_set!(rha_session_role {
    RHA_SESSION_MASTER,
    RHA_SESSION_REPLICA,
});

impl From<rha_session_role> for Role {
    fn from(r: rha_session_role) -> Self {
        match r {
            rha_session_role::RHA_SESSION_MASTER => Role::Master,
            rha_session_role::RHA_SESSION_REPLICA => Role::Replica,
        }
    }
}

impl From<Role> for rha_session_role {
    fn from(r: Role) -> Self {
        match r {
            Role::Master => rha_session_role::RHA_SESSION_MASTER,
            Role::Replica => rha_session_role::RHA_SESSION_REPLICA,
        }
    }
}

/// Which acknowledgement (`rha_session_ack`, `rha_session_event.ack_kind`).
/// Values never change.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_session_ack_kind {
    /// The records are durable in the replica's spool: the master may
    /// reclaim its own copy.
    RHA_SESSION_ACK_STORED = 1,
    /// The records are applied durably to the replica's data.
    RHA_SESSION_ACK_APPLIED = 2,
}

closed_set!(rha_session_ack_kind {
    RHA_SESSION_ACK_STORED,
    RHA_SESSION_ACK_APPLIED,
});

impl From<rha_session_ack_kind> for AckKind {
    fn from(k: rha_session_ack_kind) -> Self {
        match k {
            rha_session_ack_kind::RHA_SESSION_ACK_STORED => AckKind::Stored,
            rha_session_ack_kind::RHA_SESSION_ACK_APPLIED => AckKind::Applied,
        }
    }
}

impl From<AckKind> for rha_session_ack_kind {
    fn from(k: AckKind) -> Self {
        match k {
            AckKind::Stored => rha_session_ack_kind::RHA_SESSION_ACK_STORED,
            AckKind::Applied => rha_session_ack_kind::RHA_SESSION_ACK_APPLIED,
        }
    }
}

/// A control request from the master to the replica (`rha_session_control`,
/// `rha_session_event.control`). Values never change.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_session_control_kind {
    /// Stop applying (keep storing).
    RHA_SESSION_CONTROL_PAUSE = 1,
    /// Apply again.
    RHA_SESSION_CONTROL_RESUME = 2,
    /// Set a bookmark on the live replica after a point, with a name.
    RHA_SESSION_CONTROL_BOOKMARK = 3,
}

closed_set!(rha_session_control_kind {
    RHA_SESSION_CONTROL_PAUSE,
    RHA_SESSION_CONTROL_RESUME,
    RHA_SESSION_CONTROL_BOOKMARK,
});

/// Why a session was refused or closed (`rha_session_close`,
/// `rha_session_event.reason`): the protocol's close codes. Values never
/// change; an event may carry a code a later version adds (a peer's), which
/// is none of these.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum rha_session_reason {
    /// An orderly end (shutdown, operator).
    RHA_SESSION_REASON_DONE = 0,
    /// No protocol version in common.
    RHA_SESSION_REASON_VERSION = 1,
    /// The peer serves another scenario.
    RHA_SESSION_REASON_SCENARIO = 2,
    /// Both sides claim the same role.
    RHA_SESSION_REASON_ROLE = 3,
    /// The replica's data is newer than the master's, or the two diverged:
    /// an operator must decide.
    RHA_SESSION_REASON_GENERATIONS = 4,
    /// A side broke the protocol (malformed or unexpected bytes).
    RHA_SESSION_REASON_PROTOCOL = 5,
    /// Nothing heard from the peer within the timeout.
    RHA_SESSION_REASON_TIMEOUT = 6,
    /// The closing side ran out of space (spool or disk).
    RHA_SESSION_REASON_FULL = 7,
    /// A failure on the closing side (storage, apply).
    RHA_SESSION_REASON_FAILURE = 8,
}

closed_set!(rha_session_reason {
    RHA_SESSION_REASON_DONE,
    RHA_SESSION_REASON_VERSION,
    RHA_SESSION_REASON_SCENARIO,
    RHA_SESSION_REASON_ROLE,
    RHA_SESSION_REASON_GENERATIONS,
    RHA_SESSION_REASON_PROTOCOL,
    RHA_SESSION_REASON_TIMEOUT,
    RHA_SESSION_REASON_FULL,
    RHA_SESSION_REASON_FAILURE,
});

impl From<rha_session_reason> for Reason {
    fn from(r: rha_session_reason) -> Self {
        use rha_session_reason::*;
        match r {
            RHA_SESSION_REASON_DONE => Reason::Done,
            RHA_SESSION_REASON_VERSION => Reason::Version,
            RHA_SESSION_REASON_SCENARIO => Reason::Scenario,
            RHA_SESSION_REASON_ROLE => Reason::Role,
            RHA_SESSION_REASON_GENERATIONS => Reason::Generations,
            RHA_SESSION_REASON_PROTOCOL => Reason::Protocol,
            RHA_SESSION_REASON_TIMEOUT => Reason::Timeout,
            RHA_SESSION_REASON_FULL => Reason::Full,
            RHA_SESSION_REASON_FAILURE => Reason::Failure,
        }
    }
}

/// The protocol's code of `r`; a code this version does not know passes
/// through.
pub(crate) fn reason_code(r: Reason) -> u32 {
    use rha_session_reason::*;
    let known = match r {
        Reason::Done => RHA_SESSION_REASON_DONE,
        Reason::Version => RHA_SESSION_REASON_VERSION,
        Reason::Scenario => RHA_SESSION_REASON_SCENARIO,
        Reason::Role => RHA_SESSION_REASON_ROLE,
        Reason::Generations => RHA_SESSION_REASON_GENERATIONS,
        Reason::Protocol => RHA_SESSION_REASON_PROTOCOL,
        Reason::Timeout => RHA_SESSION_REASON_TIMEOUT,
        Reason::Full => RHA_SESSION_REASON_FULL,
        Reason::Failure => RHA_SESSION_REASON_FAILURE,
        Reason::Other(code) => return u32::from(code),
        // A reason a later rha-core adds: a failure, as the protocol
        // treats unknown codes.
        _ => RHA_SESSION_REASON_FAILURE,
    };
    known as u32
}

/// Decodes the `uint32_t` a C caller passed for the closed set `T`.
pub(crate) fn decode<T>(
    raw: u32,
    from_raw: fn(u32) -> Option<T>,
    what: &str,
) -> Result<T, rha_error> {
    from_raw(raw).ok_or_else(|| rha_error::invalid_argument(format!("unknown {what} {raw}")))
}

/// A point in a scenario's journal: the epoch (which master's journal) and
/// the sequence number of the last record covered (0: none). A frozen
/// struct (no size field): it will never gain fields.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct rha_session_point {
    /// The journal's epoch.
    pub epoch: u64,
    /// The last record's sequence number, 0 for none.
    pub seq: u64,
}

impl From<rha_session_point> for Point {
    fn from(p: rha_session_point) -> Self {
        Point {
            epoch: p.epoch,
            seq: p.seq,
        }
    }
}

impl From<Point> for rha_session_point {
    fn from(p: Point) -> Self {
        Self {
            epoch: p.epoch,
            seq: p.seq,
        }
    }
}

/// A node's data generations, which decide in the handshake who may be
/// the source of the data: an empty replica, or one whose current
/// generation is the master's bitmap or history generation, is
/// synchronised first; the same current generation follows the journal; a
/// replica newer than the master, or one that diverged, is refused. A
/// frozen struct (no size field).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct rha_session_generations {
    /// The generation of the data on the disk now (0: no data).
    pub current: u64,
    /// The generation at which difference tracking started (0: none).
    pub bitmap: u64,
    /// Older generations, newest first (0: none).
    pub history: [u64; 2],
}

impl From<rha_session_generations> for Generations {
    fn from(g: rha_session_generations) -> Self {
        Generations {
            current: g.current,
            bitmap: g.bitmap,
            history: g.history,
        }
    }
}

impl From<Generations> for rha_session_generations {
    fn from(g: Generations) -> Self {
        Self {
            current: g.current,
            bitmap: g.bitmap,
            history: g.history,
        }
    }
}

/// The settings of one side of a session, read by `rha_session_new`. Fill
/// it with `rha_session_config_init` (the defaults, `struct_size`
/// included), then set at least `role`, `node` and `scenario`.
///
/// The caller owns it; `rha_session_new` reads it (and the bytes `name`
/// views) during the call only.
///
/// The fields from `can_sync` on were added after the first version of
/// this struct: a caller built with that version's size gets their
/// defaults (no sync).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct rha_session_config {
    /// `sizeof` this struct as the caller knows it: set before the call
    /// (see the conventions on structs with a size field).
    pub struct_size: u32,
    /// This side's role, an `rha_session_role` value (no default: 0 is
    /// refused).
    pub role: u32,
    /// This node's identity: 16 bytes, unique per node (for example the
    /// first 16 bytes of its certificate's fingerprint).
    pub node: [u8; 16],
    /// The scenario's identity: 16 bytes, the same on both sides.
    pub scenario: [u8; 16],
    /// This node's data generations (default all 0: no data).
    pub generations: rha_session_generations,
    /// A master: the last record it holds. A replica: the last record
    /// stored durably in its spool, where the journal resumes.
    pub stored: rha_session_point,
    /// A replica: the last record applied durably (a master: ignored).
    pub applied: rha_session_point,
    /// Milliseconds between this side's heartbeats (default 3000).
    pub heartbeat_ms: u64,
    /// Milliseconds of silence from the peer that end the session, also
    /// the bound on the handshake (default 30000).
    pub timeout_ms: u64,
    /// A replica: bytes of journal frames it accepts before its first
    /// `rha_session_grant` (default 8 MiB; at most 2^40).
    pub window: u64,
    /// The largest message body accepted, in bytes (default 16 MiB). A
    /// master also sends at most this less 24 bytes of frames per journal
    /// message, so give both sides the same value.
    pub max_body: u64,
    /// A name for the peer's logs (UTF-8, such as the host name; empty by
    /// default; cut at 1024 bytes).
    pub name: rha_bytes,
    // The fields below came after the first version of this struct: a
    // caller built with that version's size gets their defaults.
    /// A master: it can synchronise a replica over the session (it has a
    /// tree to sync from): 0 or 1 (default 0). A replica that needs a sync
    /// then gets one (`sync` in the connected event; the master runs it
    /// with `rha_session_send_sync`); otherwise the journal follows where it
    /// can and the connected event says a sync was needed. A replica:
    /// ignored.
    pub can_sync: u8,
    /// A master: the replica needs a sync whatever its points say (this
    /// master's spool overflowed and changes were not journaled): 0 or 1
    /// (default 0). A replica: ignored.
    pub resync: u8,
    /// A master: the first record it still holds (records before it were
    /// reclaimed); a replica that stored less needs a sync. 0 (the default)
    /// or 1: all. A replica: ignored.
    pub first_held: u64,
}

impl Default for rha_session_config {
    fn default() -> Self {
        Self {
            struct_size: std::mem::size_of::<Self>() as u32,
            role: 0,
            node: [0; 16],
            scenario: [0; 16],
            generations: rha_session_generations::default(),
            stored: rha_session_point::default(),
            applied: rha_session_point::default(),
            heartbeat_ms: 3_000,
            timeout_ms: 30_000,
            window: 8 << 20,
            max_body: DEFAULT_MAX_BODY as u64,
            name: rha_bytes::EMPTY,
            can_sync: 0,
            resync: 0,
            first_held: 0,
        }
    }
}

sized_struct!(
    rha_session_config,
    older: [std::mem::offset_of!(rha_session_config, can_sync)]
);

impl rha_session_config {
    /// The core's settings, checked.
    ///
    /// # Safety
    ///
    /// `name` is a valid view for the duration of the call.
    pub(crate) unsafe fn core(&self) -> Result<SessionConfig, rha_error> {
        let role = decode(
            self.role,
            rha_session_role::from_raw,
            "rha_session_config.role",
        )?;
        if self.heartbeat_ms == 0 || self.timeout_ms == 0 {
            return Err(rha_error::invalid_argument(format!(
                "rha_session_config: heartbeat_ms ({}) and timeout_ms ({}) must not be 0",
                self.heartbeat_ms, self.timeout_ms
            )));
        }
        let max_body = usize::try_from(self.max_body)
            .ok()
            .filter(|&m| m > 0)
            .ok_or_else(|| {
                rha_error::invalid_argument(format!(
                    "rha_session_config.max_body is {}, not a size above 0",
                    self.max_body
                ))
            })?;
        // SAFETY: valid by this function's contract.
        let name = utf8_field(unsafe { self.name.as_slice("name")? }, "name")?;
        let can_sync = flag_field(self.can_sync, "rha_session_config.can_sync")?;
        let resync = flag_field(self.resync, "rha_session_config.resync")?;
        let mut c = SessionConfig::new(role.into(), self.node, self.scenario);
        c.generations = self.generations.into();
        c.stored = self.stored.into();
        c.applied = self.applied.into();
        c.heartbeat = Duration::from_millis(self.heartbeat_ms);
        c.timeout = Duration::from_millis(self.timeout_ms);
        c.window = self.window;
        c.max_body = max_body;
        c.name = name;
        c.can_sync = can_sync;
        c.resync = resync;
        c.first_held = self.first_held;
        Ok(c)
    }
}

/// Stores the default settings in `*config`, `struct_size` included: no
/// role (set one), zero identities, generations and points, heartbeat 3 s,
/// timeout 30 s, window 8 MiB, bodies up to 16 MiB, no name, no sync. NULL
/// does nothing. Thread-safe.
///
/// # Safety
///
/// `config` is NULL or valid for writing an `rha_session_config`.
#[no_mangle]
pub unsafe extern "C" fn rha_session_config_init(config: *mut rha_session_config) {
    ffi_fn!(default(()), non_null(config), {
        // SAFETY: non-NULL (checked by ffi_fn!) and writable by this function's contract.
        unsafe { config.write(rha_session_config::default()) }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_cores() {
        let mut c = rha_session_config {
            role: rha_session_role::RHA_SESSION_REPLICA as u32,
            ..Default::default()
        };
        // SAFETY: an empty name view.
        let core = unsafe { c.core() }.expect("valid");
        let reference = SessionConfig::new(Role::Replica, [0; 16], [0; 16]);
        assert_eq!(core.heartbeat, reference.heartbeat);
        assert_eq!(core.timeout, reference.timeout);
        assert_eq!(core.window, reference.window);
        assert_eq!(core.max_body, reference.max_body);
        c.role = 0;
        // SAFETY: as above.
        let e = unsafe { c.core() }.expect_err("no role");
        assert!(e.message().contains("role 0"), "{}", e.message());
    }

    #[test]
    fn the_sync_settings_reach_the_core_and_flags_are_checked() {
        let mut c = rha_session_config {
            role: rha_session_role::RHA_SESSION_MASTER as u32,
            can_sync: 1,
            resync: 1,
            first_held: 42,
            ..Default::default()
        };
        // SAFETY: an empty name view.
        let core = unsafe { c.core() }.expect("valid");
        assert!(core.can_sync && core.resync);
        assert_eq!(core.first_held, 42);
        c.can_sync = 2;
        // SAFETY: as above.
        let e = unsafe { c.core() }.expect_err("a flag is 0 or 1");
        assert!(e.message().contains("can_sync` is 2"), "{}", e.message());
        c.can_sync = 0;
        c.resync = 255;
        // SAFETY: as above.
        let e = unsafe { c.core() }.expect_err("a flag is 0 or 1");
        assert!(e.message().contains("resync` is 255"), "{}", e.message());
    }

    #[test]
    fn an_older_config_gets_no_sync() {
        let old = std::mem::offset_of!(rha_session_config, can_sync);
        let c = rha_session_config {
            role: rha_session_role::RHA_SESSION_MASTER as u32,
            struct_size: old as u32,
            can_sync: 1,
            resync: 1,
            first_held: 9,
            ..Default::default()
        };
        // SAFETY: a whole struct, its size field one of the known sizes.
        let read = unsafe { crate::sized::read_sized(&c) }.expect("the older size is known");
        assert_eq!((read.can_sync, read.resync, read.first_held), (0, 0, 0));
    }

    #[test]
    fn reason_codes_are_the_protocols() {
        for &r in rha_session_reason::ALL {
            assert_eq!(reason_code(Reason::from(r)), r as u32);
        }
        assert_eq!(reason_code(Reason::Other(77)), 77);
    }
}
