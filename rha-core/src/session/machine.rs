//! The session state machine: bytes and time in; bytes to send, events and
//! the next deadline out (`docs/session-protocol.md`, "The session").

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;

use super::decode::MessageDecoder;
use super::message::{
    AckKind, Control, Hello, Message, NodeId, Point, Reason, Role, ScenarioId, DEFAULT_MAX_BODY,
    HEADER_LEN, PREFACE, VERSION_MAX, VERSION_MIN,
};
use super::sync::{SyncReply, SyncRequest};
use crate::ha::{Generations, Instant};

/// Settings of one side of a session.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// This side's role.
    pub role: Role,
    /// This node's identity.
    pub node: NodeId,
    /// The scenario served.
    pub scenario: ScenarioId,
    /// This node's data generations.
    pub generations: Generations,
    /// A master: the last record it holds. A replica: the last record
    /// stored durably in its spool (where the journal resumes).
    pub stored: Point,
    /// A replica: the last record applied durably.
    pub applied: Point,
    /// How often this side sends a heartbeat (the scenario's Is Alive
    /// frequency).
    pub heartbeat: Duration,
    /// Silence from the peer for this long ends the session
    /// ([`Event::Silent`], then a close with reason timeout); it also
    /// bounds the handshake.
    pub timeout: Duration,
    /// A replica: bytes of journal frames it accepts before its first
    /// [`Session::grant`].
    pub window: u64,
    /// The largest message body accepted.
    pub max_body: usize,
    /// A name for the peer's logs.
    pub name: String,
    /// A master: it can synchronise a replica over the session (it has a
    /// tree to sync from). A replica that needs a sync then gets one;
    /// otherwise the journal follows where it can and
    /// [`Event::Connected`] says a sync was needed.
    pub can_sync: bool,
    /// A master: the first record it still holds (records before it were
    /// reclaimed); a replica that stored less needs a sync. 0 or 1: all.
    pub first_held: u64,
    /// A master: the replica needs a sync whatever its points say (the
    /// master's spool overflowed and changes were not journaled).
    pub resync: bool,
}

impl SessionConfig {
    /// Settings with the defaults: heartbeat 3 s, timeout 30 s, a replica
    /// window of 8 MiB, bodies up to [`DEFAULT_MAX_BODY`].
    pub fn new(role: Role, node: NodeId, scenario: ScenarioId) -> Self {
        Self {
            role,
            node,
            scenario,
            generations: Generations::default(),
            stored: Point::default(),
            applied: Point::default(),
            heartbeat: Duration::from_secs(3),
            timeout: Duration::from_secs(30),
            window: 8 << 20,
            max_body: DEFAULT_MAX_BODY,
            name: String::new(),
            can_sync: false,
            first_held: 0,
            resync: false,
        }
    }
}

/// What a session reports to its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// The handshake is done.
    Connected {
        /// The peer's hello.
        peer: Hello,
        /// The protocol version spoken.
        version: u16,
        /// The journal resumes after this point (the replica's stored
        /// point, or the start of the master's epoch).
        resume_after: Point,
        /// The replica's data must be synchronised before the journal can
        /// follow: it is empty, older than the master's generation, of
        /// another epoch, behind what the master holds, or the master asked
        /// for a resync.
        sync_needed: bool,
        /// A sync over this session comes first (the master can sync): the
        /// journal continues after `resume_after` meanwhile, and the
        /// replica applies it once the sync is done.
        sync: bool,
    },
    /// A replica received journal frames for records `first..=last`, the
    /// next in order.
    Journal {
        /// The journal's epoch.
        epoch: u64,
        /// First record.
        first: u64,
        /// Last record.
        last: u64,
        /// The frames, as the journal encodes them.
        frames: Bytes,
    },
    /// A master heard that records up to `at` are stored (it may reclaim
    /// them) or applied durably.
    Acked {
        /// Which.
        kind: AckKind,
        /// Up to where.
        at: Point,
    },
    /// A replica received a control request.
    Control(Control),
    /// A replica received a sync message.
    Sync(SyncRequest),
    /// A master received a sync reply.
    SyncReply(SyncReply),
    /// Nothing was heard from the peer within the timeout.
    Silent,
    /// The session ended.
    Closed {
        /// Why.
        reason: Reason,
        /// Details.
        text: String,
        /// The peer ended it (`false`: this side did).
        by_peer: bool,
    },
}

/// Why the driver's request could not be done now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// The session is not connected (handshake under way, or closed).
    #[error("the session is not connected")]
    NotConnected,
    /// The request belongs to the other role.
    #[error("only a {} may do this", role_name(*.0))]
    WrongRole(Role),
    /// A journal message must carry at least one frame.
    #[error("a journal message needs at least one frame")]
    NoFrames,
    /// Journal records out of order: the next must start at `expected`.
    #[error("journal records must continue at sequence number {expected}, not {first}")]
    OutOfOrder {
        /// The next record expected.
        expected: u64,
        /// The first record offered.
        first: u64,
    },
    /// The replica's window has less room than the frames need: send
    /// them after the next grant (the master stops reading its spool).
    #[error("the replica's window has room for {available} bytes, not {needed}")]
    Window {
        /// Bytes the window allows now.
        available: u64,
        /// Bytes the frames need.
        needed: u64,
    },
    /// The frames exceed what one message may carry (the lower of the two
    /// sides' body limits, [`Session::max_journal_frames`]).
    #[error("{needed} bytes of frames exceed the {max}-byte message limit")]
    TooLarge {
        /// Bytes offered.
        needed: usize,
        /// The limit.
        max: usize,
    },
    /// An acknowledgement may not go back, nor beyond what was received.
    #[error("cannot acknowledge record {} of epoch {}: {why}", at.seq, at.epoch)]
    BadAck {
        /// The point offered.
        at: Point,
        /// Why not.
        why: &'static str,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for the peer's hello (and, for a replica, the welcome).
    Handshake,
    Connected,
    Closed,
}

/// Bytes of journal frames a window may hold: a replica cannot grant more.
pub const MAX_WINDOW: u64 = 1 << 40;

/// Bytes of a journal message's body before its frames (epoch, first,
/// last).
const JOURNAL_FIELDS: usize = 24;

/// One side of a session. The driver feeds it received bytes
/// ([`receive`](Self::receive)) and the time ([`handle_timeout`](Self::handle_timeout)
/// at [`poll_timeout`](Self::poll_timeout)), sends what
/// [`take_output`](Self::take_output) returns, and acts on
/// [`poll_event`](Self::poll_event).
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    state: State,
    decoder: MessageDecoder,
    out: Vec<u8>,
    events: VecDeque<Event>,
    /// The peer's hello, once heard.
    peer: Option<Hello>,
    version: u16,
    /// The epoch of the journal this session carries.
    epoch: u64,
    /// The last record sent (master) or received (replica).
    last: u64,
    /// A master: the window's room. A replica: the room it granted and
    /// has not seen used.
    window: u64,
    /// The highest acknowledgements sent (replica) or heard (master).
    stored_ack: Point,
    applied_ack: Point,
    last_heard: Instant,
    next_heartbeat: Instant,
    /// The peer's last heartbeat time, echoed back.
    echo: u64,
    /// The session's `tracing` span: open from `new` until it is dropped.
    span: tracing::Span,
}

impl Session {
    /// Starts a session at `now`: the preface and hello are queued.
    pub fn new(config: SessionConfig, now: Instant) -> Self {
        let mut s = Self {
            decoder: MessageDecoder::new().with_max_body(config.max_body),
            state: State::Handshake,
            out: PREFACE.to_vec(),
            events: VecDeque::new(),
            peer: None,
            version: 0,
            epoch: config.stored.epoch,
            last: 0,
            window: 0,
            stored_ack: Point::default(),
            applied_ack: Point::default(),
            last_heard: now,
            next_heartbeat: now.saturating_add(config.heartbeat),
            echo: 0,
            span: tracing::info_span!(
                "session",
                role = role_name(config.role),
                name = %config.name
            ),
            config,
        };
        let hello = s.hello();
        s.send(&Message::Hello(hello));
        s
    }

    fn hello(&self) -> Hello {
        let c = &self.config;
        Hello {
            version_min: VERSION_MIN,
            version_max: VERSION_MAX,
            role: c.role,
            node: c.node,
            scenario: c.scenario,
            generations: c.generations,
            stored: c.stored,
            applied: match c.role {
                Role::Master => Point::default(),
                Role::Replica => c.applied,
            },
            heartbeat_ms: u32::try_from(c.heartbeat.as_millis()).unwrap_or(u32::MAX),
            max_body: u32::try_from(c.max_body).unwrap_or(u32::MAX),
            window: match c.role {
                Role::Master => 0,
                Role::Replica => c.window.min(MAX_WINDOW),
            },
            name: c.name.clone(),
        }
    }

    /// Whether the handshake is done and the session not closed.
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// Whether the session has ended (its last bytes may still wait in
    /// [`take_output`](Self::take_output)).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The peer's hello, once heard.
    pub fn peer(&self) -> Option<&Hello> {
        self.peer.as_ref()
    }

    /// A master: bytes of frames the replica's window accepts now.
    pub fn window(&self) -> u64 {
        self.window
    }

    /// The last record sent (master) or received (replica).
    pub fn last_seq(&self) -> u64 {
        self.last
    }

    /// The bytes to send, in order; empty when there are none.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next
    /// (`None` once closed).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.state {
            State::Closed => None,
            _ => Some(
                self.next_heartbeat
                    .min(self.last_heard.saturating_add(self.config.timeout)),
            ),
        }
    }

    /// Advances time to `now`: sends a heartbeat when one is due, and ends
    /// a session whose peer has been silent for the timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == State::Closed {
            return;
        }
        if now >= self.last_heard.saturating_add(self.config.timeout) {
            self.events.push_back(Event::Silent);
            let text = match self.state {
                State::Handshake => "no handshake within the timeout",
                _ => "nothing heard from the peer within the timeout",
            };
            self.close(Reason::Timeout, text);
            return;
        }
        if now >= self.next_heartbeat {
            // Heartbeats go out in the handshake too: a peer that takes
            // long to decide still hears from this side.
            let sent = now.as_nanos() / 1_000_000;
            self.send(&Message::Heartbeat {
                sent,
                echo: self.echo,
            });
            self.next_heartbeat = now.saturating_add(self.config.heartbeat);
        }
    }

    /// Feeds bytes received from the peer at `now`.
    pub fn receive(&mut self, bytes: &[u8], now: Instant) {
        if self.state == State::Closed {
            return;
        }
        if !bytes.is_empty() {
            self.last_heard = now;
        }
        self.decoder.feed(bytes);
        while self.state != State::Closed {
            match self.decoder.next_message() {
                Ok(Some(m)) => self.handle(m),
                Ok(None) => break,
                Err(e) => self.close(Reason::Protocol, &e.to_string()),
            }
        }
    }

    /// Ends the session: a close with `reason` is queued and
    /// [`Event::Closed`] reported. Does nothing once closed.
    pub fn close(&mut self, reason: Reason, text: &str) {
        if self.state == State::Closed {
            return;
        }
        self.send(&Message::Close {
            reason,
            text: text.to_owned(),
        });
        self.ended(reason, text.to_owned(), false);
    }

    /// A master: sends the frames of records `first..=last` (the next in
    /// order) of the session's epoch, if the replica's window has room.
    pub fn send_journal(
        &mut self,
        first: u64,
        last: u64,
        frames: Bytes,
    ) -> Result<(), SessionError> {
        self.connected_as(Role::Master)?;
        let expected = self.last.saturating_add(1);
        if first != expected || last < first {
            return Err(SessionError::OutOfOrder { expected, first });
        }
        if frames.is_empty() {
            return Err(SessionError::NoFrames);
        }
        let max = self.max_journal_frames();
        if frames.len() > max {
            return Err(SessionError::TooLarge {
                needed: frames.len(),
                max,
            });
        }
        let needed = frames.len() as u64;
        if needed > self.window {
            return Err(SessionError::Window {
                available: self.window,
                needed,
            });
        }
        self.window -= needed;
        self.last = last;
        self.send(&Message::Journal {
            epoch: self.epoch,
            first,
            last,
            frames,
        });
        Ok(())
    }

    /// The most bytes of frames one journal message may carry: the lower
    /// of this side's and the peer's body limits, less the message's own
    /// fields.
    pub fn max_journal_frames(&self) -> usize {
        self.max_body().saturating_sub(JOURNAL_FIELDS)
    }

    /// A replica: grants the master `bytes` more bytes of frames (after
    /// it stored or dropped what it received).
    pub fn grant(&mut self, bytes: u64) -> Result<(), SessionError> {
        self.connected_as(Role::Replica)?;
        let bytes = bytes.min(MAX_WINDOW - self.window.min(MAX_WINDOW));
        if bytes > 0 {
            self.window += bytes;
            self.send(&Message::Window { bytes });
        }
        Ok(())
    }

    /// A replica: acknowledges records up to `at` as stored or applied
    /// durably. Acknowledgements only go forward, never beyond the last
    /// record received, and "applied" never passes "stored".
    pub fn ack(&mut self, kind: AckKind, at: Point) -> Result<(), SessionError> {
        self.connected_as(Role::Replica)?;
        let bad = |why| Err(SessionError::BadAck { at, why });
        if at.epoch != self.epoch {
            return bad("another epoch");
        }
        if at.seq > self.last {
            return bad("beyond the last record received");
        }
        let (current, ceiling) = match kind {
            AckKind::Stored => (self.stored_ack, at),
            AckKind::Applied => (self.applied_ack, self.stored_ack),
        };
        if at.seq < current.seq {
            return bad("behind an earlier acknowledgement");
        }
        if kind == AckKind::Applied && at.seq > ceiling.seq {
            return bad("applied beyond stored");
        }
        match kind {
            AckKind::Stored => self.stored_ack = at,
            AckKind::Applied => self.applied_ack = at,
        }
        self.send(&Message::Ack { kind, at });
        Ok(())
    }

    /// A master: sends a sync message. Its body must fit the lower of the
    /// two sides' limits ([`max_body`](Self::max_body)).
    pub fn send_sync(&mut self, request: SyncRequest) -> Result<(), SessionError> {
        self.connected_as(Role::Master)?;
        self.send_sized(&Message::Sync(request))
    }

    /// A replica: sends a sync reply (within [`max_body`](Self::max_body)).
    pub fn send_sync_reply(&mut self, reply: SyncReply) -> Result<(), SessionError> {
        self.connected_as(Role::Replica)?;
        self.send_sized(&Message::SyncReply(reply))
    }

    /// The largest message body both sides accept.
    pub fn max_body(&self) -> usize {
        let peer = self
            .peer
            .as_ref()
            .map_or(usize::MAX, |p| p.max_body as usize);
        self.config.max_body.min(peer)
    }

    /// Queues `m` unless its body exceeds [`max_body`](Self::max_body).
    fn send_sized(&mut self, m: &Message) -> Result<(), SessionError> {
        let start = self.out.len();
        m.encode(&mut self.out);
        let body = self.out.len() - start - HEADER_LEN;
        let max = self.max_body();
        if body > max {
            self.out.truncate(start);
            return Err(SessionError::TooLarge { needed: body, max });
        }
        Ok(())
    }

    /// Bytes queued and not yet taken by [`take_output`](Self::take_output).
    pub fn pending_output(&self) -> usize {
        self.out.len()
    }

    /// A master: sends a control request (pause, resume, bookmark).
    pub fn control(&mut self, control: Control) -> Result<(), SessionError> {
        self.connected_as(Role::Master)?;
        self.send(&Message::Control(control));
        Ok(())
    }

    fn connected_as(&self, role: Role) -> Result<(), SessionError> {
        if self.config.role != role {
            return Err(SessionError::WrongRole(role));
        }
        if self.state != State::Connected {
            return Err(SessionError::NotConnected);
        }
        Ok(())
    }

    fn send(&mut self, m: &Message) {
        m.encode(&mut self.out);
    }

    /// The session is over: logged (a warning unless orderly) and reported.
    fn ended(&mut self, reason: Reason, text: String, by_peer: bool) {
        self.state = State::Closed;
        let by = if by_peer { "the peer" } else { "this side" };
        if reason == Reason::Done {
            tracing::info!(parent: &self.span, ?reason, text, by, "session closed");
        } else {
            tracing::warn!(parent: &self.span, ?reason, text, by, "session closed");
        }
        self.events.push_back(Event::Closed {
            reason,
            text,
            by_peer,
        });
    }

    fn protocol(&mut self, text: String) {
        self.close(Reason::Protocol, &text);
    }

    fn handle(&mut self, m: Message) {
        match (self.state, m) {
            (_, Message::Close { reason, text }) => self.ended(reason, text, true),
            (_, Message::Heartbeat { sent, .. }) => self.echo = sent,
            (State::Handshake, Message::Hello(h)) if self.peer.is_none() => self.on_hello(h),
            (
                State::Handshake,
                Message::Welcome {
                    version,
                    resume_after,
                    sync,
                },
            ) if self.config.role == Role::Replica && self.peer.is_some() => {
                self.on_welcome(version, resume_after, sync)
            }
            (State::Connected, m) => self.on_connected(m),
            (_, m) => self.protocol(format!("unexpected {} message in the handshake", m.name())),
        }
    }

    fn on_hello(&mut self, h: Hello) {
        let lo = h.version_min.max(VERSION_MIN);
        let hi = h.version_max.min(VERSION_MAX);
        if lo > hi {
            return self.close(
                Reason::Version,
                &format!(
                    "no protocol version in common: the peer speaks {}..={}, this side {}..={}",
                    h.version_min, h.version_max, VERSION_MIN, VERSION_MAX
                ),
            );
        }
        if h.scenario != self.config.scenario {
            return self.close(Reason::Scenario, "the peer serves another scenario");
        }
        if h.role == self.config.role {
            return self.close(
                Reason::Role,
                &format!("both sides are {}s", role_name(h.role)),
            );
        }
        let (master, replica) = match self.config.role {
            Role::Master => (self.config.generations, h.generations),
            Role::Replica => (h.generations, self.config.generations),
        };
        let relation = relate(master, replica);
        if let Relation::Refused(why) = relation {
            return self.close(Reason::Generations, why);
        }
        self.version = hi;
        let peer_name = h.name.clone();
        let peer_stored = h.stored;
        let peer_window = h.window;
        self.peer = Some(h);
        if self.config.role == Role::Replica {
            // The master decides where the journal resumes: wait for it.
            return;
        }
        // A master: the journal resumes after the replica's stored point
        // if it is of this epoch and not ahead of what this side holds.
        let own = self.config.stored;
        if peer_stored.epoch == own.epoch && peer_stored.seq > own.seq {
            return self.close(
                Reason::Generations,
                &format!(
                    "the replica {peer_name} stored record {} of epoch {}; this master holds up to {}",
                    peer_stored.seq, own.epoch, own.seq
                ),
            );
        }
        let same_epoch = peer_stored.epoch == own.epoch;
        let behind = same_epoch && peer_stored.seq.saturating_add(1) < self.config.first_held;
        let sync_needed =
            relation == Relation::SyncNeeded || !same_epoch || behind || self.config.resync;
        let sync = sync_needed && self.config.can_sync;
        let resume_after = if sync {
            // The sync brings the replica to (at least) this master's last
            // record: the journal follows from there.
            own
        } else if same_epoch {
            peer_stored
        } else {
            Point {
                epoch: own.epoch,
                seq: 0,
            }
        };
        self.window = peer_window.min(MAX_WINDOW);
        self.send(&Message::Welcome {
            version: self.version,
            resume_after,
            sync,
        });
        self.connect(resume_after, sync_needed, sync);
    }

    fn on_welcome(&mut self, version: u16, resume_after: Point, sync: bool) {
        let own = self.config.stored;
        if version < VERSION_MIN || version > VERSION_MAX {
            return self.protocol(format!("the master chose version {version}, not offered"));
        }
        if sync {
            // The sync replaces what this replica holds: the journal
            // follows the master's point, whatever this side stored.
            self.version = version;
            self.window = self.config.window.min(MAX_WINDOW);
            return self.connect(resume_after, true, true);
        }
        if resume_after.epoch == own.epoch && resume_after.seq != own.seq {
            return self.protocol(format!(
                "the master resumes after record {}, but this replica stored up to {}",
                resume_after.seq, own.seq
            ));
        }
        if resume_after.epoch != own.epoch && resume_after.seq != 0 {
            return self.protocol(format!(
                "the master resumes a new epoch {} after record {}",
                resume_after.epoch, resume_after.seq
            ));
        }
        self.version = version;
        let master = self
            .peer
            .as_ref()
            .map_or_else(Generations::default, |p| p.generations);
        let sync_needed = resume_after.epoch != own.epoch
            || relate(master, self.config.generations) == Relation::SyncNeeded;
        self.window = self.config.window.min(MAX_WINDOW);
        self.connect(resume_after, sync_needed, false);
    }

    fn connect(&mut self, resume_after: Point, sync_needed: bool, sync: bool) {
        self.state = State::Connected;
        self.epoch = resume_after.epoch;
        self.last = resume_after.seq;
        self.stored_ack = resume_after;
        self.applied_ack = if sync {
            // Nothing is applied of the journal this session carries
            // until the sync is done.
            Point {
                epoch: resume_after.epoch,
                seq: 0,
            }
        } else if self.config.applied.epoch == resume_after.epoch {
            Point {
                epoch: resume_after.epoch,
                seq: self.config.applied.seq.min(resume_after.seq),
            }
        } else {
            Point {
                epoch: resume_after.epoch,
                seq: 0,
            }
        };
        if let Some(peer) = self.peer.clone() {
            tracing::info!(
                parent: &self.span,
                peer = %peer.name,
                version = self.version,
                resume_after = resume_after.seq,
                epoch = resume_after.epoch,
                sync_needed,
                sync,
                "session connected"
            );
            self.events.push_back(Event::Connected {
                peer,
                version: self.version,
                resume_after,
                sync_needed,
                sync,
            });
        }
    }

    fn on_connected(&mut self, m: Message) {
        match (self.config.role, m) {
            (
                Role::Replica,
                Message::Journal {
                    epoch,
                    first,
                    last,
                    frames,
                },
            ) => {
                if epoch != self.epoch {
                    return self.protocol(format!(
                        "journal of epoch {epoch} in a session of epoch {}",
                        self.epoch
                    ));
                }
                let expected = self.last.saturating_add(1);
                if first != expected {
                    return self.protocol(format!(
                        "journal records {first}..={last} where {expected} was next"
                    ));
                }
                let needed = frames.len() as u64;
                if needed > self.window {
                    return self.protocol(format!(
                        "{needed} bytes of journal exceed the window of {} bytes",
                        self.window
                    ));
                }
                self.window -= needed;
                self.last = last;
                self.events.push_back(Event::Journal {
                    epoch,
                    first,
                    last,
                    frames,
                });
            }
            (Role::Replica, Message::Control(c)) => self.events.push_back(Event::Control(c)),
            (Role::Replica, Message::Sync(r)) => self.events.push_back(Event::Sync(r)),
            (Role::Master, Message::SyncReply(r)) => self.events.push_back(Event::SyncReply(r)),
            (Role::Master, Message::Window { bytes }) => {
                let room = MAX_WINDOW - self.window.min(MAX_WINDOW);
                if bytes > room {
                    return self.protocol(format!(
                        "a window of {bytes} more bytes exceeds the {MAX_WINDOW}-byte limit"
                    ));
                }
                self.window += bytes;
            }
            (Role::Master, Message::Ack { kind, at }) => {
                let current = match kind {
                    AckKind::Stored => self.stored_ack,
                    AckKind::Applied => self.applied_ack,
                };
                let why = if at.epoch != self.epoch {
                    Some("of another epoch")
                } else if at.seq > self.last {
                    Some("beyond the last record sent")
                } else if at.seq < current.seq {
                    Some("behind an earlier one")
                } else if kind == AckKind::Applied && at.seq > self.stored_ack.seq {
                    Some("applied beyond stored")
                } else {
                    None
                };
                if let Some(why) = why {
                    return self.protocol(format!("an acknowledgement of record {} {why}", at.seq));
                }
                match kind {
                    AckKind::Stored => self.stored_ack = at,
                    AckKind::Applied => self.applied_ack = at,
                }
                self.events.push_back(Event::Acked { kind, at });
            }
            (_, m) => self.protocol(format!(
                "unexpected {} message to a {}",
                m.name(),
                role_name(self.config.role)
            )),
        }
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Master => "master",
        Role::Replica => "replica",
    }
}

/// How a replica's data relates to the master's, by their generations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    /// The same generation: the journal can follow from the stored point.
    Same,
    /// The replica is empty or of an older generation of the master's:
    /// it must be synchronised first.
    SyncNeeded,
    /// The replica may not follow this master.
    Refused(&'static str),
}

/// The rules of `ha::MirrorNode`, for the session's two roles: the master
/// is the source unless the replica holds data the master never had.
fn relate(master: Generations, replica: Generations) -> Relation {
    let known = |g: Generations, id: u64| id != 0 && (g.bitmap == id || g.history.contains(&id));
    if replica.current == 0 {
        return Relation::SyncNeeded;
    }
    if master.current == 0 {
        return Relation::Refused(
            "the master has no data and the replica has: it would be overwritten",
        );
    }
    if master.current == replica.current {
        return Relation::Same;
    }
    if known(master, replica.current) {
        return Relation::SyncNeeded;
    }
    if known(replica, master.current) {
        return Relation::Refused("the replica's data is newer than the master's");
    }
    Relation::Refused("the replica's data and the master's diverged: an operator must choose")
}
