//! The master agent: sends its spool's records to a replica, in order,
//! within the replica's window, and reclaims them once stored.

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use rha_core::journal::{Compression, JournalWriter, WriterConfig};
use rha_core::session::{
    AckKind, Control, Event, NodeId, Point, Reason, Role, ScenarioId, SessionConfig, SessionError,
};
use rha_core::spool::{DirtyRegions, ReadError, RecordFrames, Spool, SpoolConfig, SpoolReader};
use rha_core::storage::DirStorage;

use super::conn::{Clock, Conn, SessionEnd};
use super::error::AgentError;
use super::link::Link;
use super::state::{
    load_regions, random_id, remove_regions, scenario_hex, store_regions, AgentState,
};
use super::status::{age_seconds, AgentStatus, LinkState};
use super::sync::{SyncSender, SyncSettings};
use super::wake::{DurableWatch, Waker};
use crate::transport::Backoff;

/// The spool's directory inside a master agent's state directory.
pub const MASTER_SPOOL_DIR: &str = "spool";

/// Sync runs that may follow each other at once (see `Runner::sync_done`).
const MAX_SYNC_ROUNDS: u32 = 3;

/// Whether another sync run follows one that ended.
enum Again {
    /// No.
    No,
    /// At once (the session ends and the next one syncs), and why.
    Now(String),
    /// After this long, and why.
    After(Duration, String),
}

/// How often a running agent rewrites its status file.
pub(crate) const STATUS_EVERY: Duration = Duration::from_millis(500);

/// How a master agent runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MasterConfig {
    /// The scenario served.
    pub scenario: ScenarioId,
    /// This node's identity.
    pub node: NodeId,
    /// A name for the replica's logs (the host name).
    pub name: String,
    /// The state directory: the agent's state, status and its spool (in
    /// [`MASTER_SPOOL_DIR`]).
    pub state_dir: PathBuf,
    /// The spool's limits and overflow policy.
    pub spool: SpoolConfig,
    /// Heartbeat interval (the scenario's Is Alive frequency).
    pub heartbeat: Duration,
    /// Silence from the replica for this long ends a session.
    pub timeout: Duration,
    /// Journal bytes per message, about.
    pub batch_bytes: usize,
    /// Compression of each message's frames.
    pub compression: Compression,
    /// Reconnection delays: the first retry waits about `retry_min`,
    /// doubling (with jitter) up to `retry_max`.
    pub retry_min: Duration,
    /// See [`retry_min`](Self::retry_min).
    pub retry_max: Duration,
    /// The master's directory: a replica that needs it (empty, behind what
    /// the spool holds, of another epoch, or after an overflow) is
    /// synchronised from it over the session. `None`: the journal alone is
    /// sent, and such a replica is refused.
    pub root: Option<PathBuf>,
    /// How a sync compares and sends.
    pub sync: SyncSettings,
    /// Synchronise the replica at the next session even if it could follow
    /// the journal (only with a [`root`](Self::root)).
    pub resync: bool,
}

impl MasterConfig {
    /// The defaults: heartbeat 3 s, timeout 30 s, 1 MiB messages without
    /// compression, retries from 0.2 s up to 30 s, no directory to sync
    /// from (file-level sync settings once one is set).
    pub fn new(scenario: ScenarioId, node: NodeId, state_dir: impl Into<PathBuf>) -> Self {
        Self {
            scenario,
            node,
            name: String::new(),
            state_dir: state_dir.into(),
            spool: SpoolConfig::default(),
            heartbeat: Duration::from_secs(3),
            timeout: Duration::from_secs(30),
            batch_bytes: 1 << 20,
            compression: Compression::None,
            retry_min: Duration::from_millis(200),
            retry_max: Duration::from_secs(30),
            root: None,
            sync: SyncSettings::default(),
            resync: false,
        }
    }
}

/// Opens a link to the replica: rha's TLS transport, or any other.
pub trait Connector: Send + 'static {
    /// The link this connector opens.
    type Link: Link + 'static;
    /// Opens a new link (the agent retries with backoff on an error).
    fn connect(&mut self) -> io::Result<Self::Link>;
}

impl<F, L> Connector for F
where
    F: FnMut() -> io::Result<L> + Send + 'static,
    L: Link + 'static,
{
    type Link = L;
    fn connect(&mut self) -> io::Result<L> {
        self()
    }
}

/// What the agent's thread and its handle share.
#[derive(Debug, Default)]
struct Shared {
    status: Mutex<AgentStatus>,
    controls: Mutex<Vec<Control>>,
    stop: AtomicBool,
}

/// Reads a [`MasterAgent`]'s status from any thread.
#[derive(Debug, Clone)]
pub struct StatusProbe(Arc<Shared>);

impl StatusProbe {
    /// A snapshot of the agent's state.
    pub fn get(&self) -> AgentStatus {
        self.0.status.lock().clone()
    }
}

/// A running master agent: one thread that connects to the replica
/// (reconnecting with backoff), sends the spool's durable records in
/// order, and reclaims them as the replica stores them. Producers append
/// to [`spool`](Self::spool).
///
/// ```no_run
/// use std::net::TcpStream;
/// use rha_capture::agent::{MasterAgent, MasterConfig};
/// use rha_core::journal::Op;
/// use rha_core::spool::AppendOptions;
///
/// let config = MasterConfig::new([1; 16], [2; 16], "/var/lib/rha/master");
/// let agent = MasterAgent::start(config, || TcpStream::connect("replica:7400"))?;
/// agent.spool().append(0, &Op::TxBegin { txid: 1 }, AppendOptions::default())?;
/// println!("{:?}", agent.status());
/// agent.stop()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct MasterAgent {
    spool: Arc<Spool>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl MasterAgent {
    /// Opens the state directory (creating the state on first use: a new
    /// epoch and data generation), opens the spool, and starts the thread
    /// that replicates through `connector`.
    pub fn start(config: MasterConfig, connector: impl Connector) -> Result<Self, AgentError> {
        let dir = config.state_dir.clone();
        let storage = DirStorage::open(&dir).map_err(|source| AgentError::Io {
            path: dir.clone(),
            source,
        })?;
        let hex = scenario_hex(&config.scenario);
        let state = match AgentState::load(&storage)? {
            Some(s) if s.scenario != hex => {
                return Err(AgentError::OtherScenario {
                    path: dir,
                    found: s.scenario,
                    wanted: hex,
                })
            }
            Some(s) => s,
            None => {
                let mut s = AgentState {
                    version: 1,
                    scenario: hex,
                    epoch: random_id(&dir)?,
                    ..AgentState::default()
                };
                s.generations.current = random_id(&dir)?;
                s.store(&storage)?;
                s
            }
        };
        let state = if config.resync
            && config.root.is_some()
            && (!state.resync || state.resync_regions_after.is_some())
        {
            // Asked for: the whole tree.
            let mut next = state;
            next.resync = true;
            next.resync_regions_after = None;
            next.resync_narrowed = false;
            next.store(&storage)?;
            next
        } else {
            state
        };
        let spool_dir = dir.join(MASTER_SPOOL_DIR);
        let (spool, _) = Spool::open_dir(&spool_dir, config.spool.clone()).map_err(|source| {
            AgentError::Spool {
                path: spool_dir,
                source,
            }
        })?;
        let spool = Arc::new(spool);
        let shared = Arc::new(Shared::default());
        {
            let mut st = shared.status.lock();
            st.role = "master".to_owned();
            st.epoch = state.epoch;
        }
        let runner = Runner {
            config,
            state: Mutex::new(state),
            storage,
            spool: spool.clone(),
            shared: shared.clone(),
            clock: Clock::new(),
            syncs: std::sync::atomic::AtomicU64::new(0),
            sync_rounds: std::sync::atomic::AtomicU32::new(0),
        };
        let thread = std::thread::Builder::new()
            .name("rha-master".to_owned())
            .spawn(move || runner.run(connector))
            .map_err(|source| AgentError::Io { path: dir, source })?;
        Ok(Self {
            spool,
            shared,
            thread: Some(thread),
        })
    }

    /// The spool the agent sends from: append the master's changes here.
    pub fn spool(&self) -> &Spool {
        &self.spool
    }

    /// A snapshot of the agent's state.
    pub fn status(&self) -> AgentStatus {
        self.shared.status.lock().clone()
    }

    /// A handle that reads the status from another thread (a monitor).
    pub fn status_probe(&self) -> StatusProbe {
        StatusProbe(self.shared.clone())
    }

    /// Asks the replica to pause or resume application, or to set a
    /// bookmark: sent in order, when the session is (or next is) up.
    pub fn control(&self, control: Control) {
        self.shared.controls.lock().push(control);
    }

    /// Ends the session in order (the replica acknowledges what it
    /// stored), stops the thread and makes the spool durable.
    pub fn stop(mut self) -> Result<AgentStatus, AgentError> {
        self.halt()?;
        self.spool
            .sync()
            .map_err(|e| AgentError::SpoolFailed(e.to_string()))?;
        Ok(self.status())
    }

    fn halt(&mut self) -> Result<(), AgentError> {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().map_err(|_| AgentError::Panicked("master"))?;
        }
        Ok(())
    }
}

impl Drop for MasterAgent {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}

/// The agent's thread. It holds the state directory (and its lock) for
/// as long as it runs.
struct Runner {
    config: MasterConfig,
    state: Mutex<AgentState>,
    storage: DirStorage,
    spool: Arc<Spool>,
    shared: Arc<Shared>,
    clock: Clock,
    /// Sync runs started.
    syncs: std::sync::atomic::AtomicU64,
    /// Sync runs in a row that had to be followed by another.
    sync_rounds: std::sync::atomic::AtomicU32,
}

impl Runner {
    fn stopping(&self) -> bool {
        self.shared.stop.load(Ordering::SeqCst)
    }

    fn run(self, mut connector: impl Connector) {
        let span = tracing::info_span!("master_agent", dir = %self.config.state_dir.display());
        let _enter = span.enter();
        let seed = self.state.lock().epoch
            ^ u64::from(std::process::id()).rotate_left(32)
            ^ self.clock.now().as_nanos();
        let mut backoff = Backoff::new(self.config.retry_min, self.config.retry_max, seed);
        while !self.stopping() {
            self.shared.status.lock().link = LinkState::Connecting;
            let end = match connector.connect() {
                Ok(link) => {
                    self.shared.status.lock().sessions += 1;
                    let (end, connected) = self.session(link);
                    if connected {
                        backoff.reset();
                    }
                    end.to_string()
                }
                Err(e) => format!("connecting: {e}"),
            };
            tracing::info!(end, "session over");
            {
                let mut st = self.shared.status.lock();
                st.link = LinkState::Down;
                st.peer = None;
                st.last_end = Some(end);
            }
            self.update_status(None);
            let delay = backoff.next_delay();
            self.sleep(delay);
        }
        self.shared.status.lock().link = LinkState::Stopped;
        self.report();
    }

    /// Sleeps for `d`, waking early when the agent stops.
    fn sleep(&self, d: Duration) {
        let until = std::time::Instant::now() + d;
        while !self.stopping() {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(Duration::from_millis(20)));
        }
    }

    /// Runs one session to its end; says whether it connected.
    /// After an overflow the spool's records cannot bring the replica up
    /// to date: if a sync can, remember durably that one is needed, and
    /// start the spool afresh (the sync covers what it held).
    ///
    /// After a degrading overflow the sync may cover only what changed:
    /// the dirty regions and those of the records still spooled (the
    /// replica may lack them) are saved first, added to any saved before
    /// (a resync not yet done), with the point they start after. A stopped
    /// spool, or a whole-tree resync already pending, syncs the whole tree.
    fn resync_after_overflow(&self) -> Result<(), String> {
        use rha_core::spool::SpoolMode;
        let usage = self.spool.usage();
        if usage.mode == SpoolMode::Normal || self.config.root.is_none() {
            return Ok(());
        }
        let mut state = self.state.lock();
        let mut next = state.clone();
        next.resync = true;
        let narrow = matches!(usage.mode, SpoolMode::Degraded { .. })
            && (!state.resync || state.resync_regions_after.is_some());
        let spool_err = |e: &dyn std::fmt::Display| format!("master spool: {e}");
        if !narrow {
            next.resync_regions_after = None;
            next.resync_narrowed = false;
            if next != *state {
                next.store(&self.storage).map_err(|e| e.to_string())?;
                *state = next;
            }
            self.spool
                .reset(usage.next_seq)
                .map_err(|e| spool_err(&e))?;
        } else {
            // Records spooled before the overflow, durable and read; no
            // more come while the spool is degraded.
            self.spool.sync().map_err(|e| spool_err(&e))?;
            let mut regions = self
                .spool
                .regions_since(usage.resume_seq)
                .map_err(|e| spool_err(&e))?;
            let after = usage.resume_seq.saturating_sub(1);
            next.resync_regions_after = Some(match state.resync_regions_after {
                Some(before) => {
                    let saved = load_regions(&self.storage).map_err(|e| e.to_string())?;
                    regions.merge(&saved);
                    before.min(after)
                }
                None => after,
            });
            // The regions (with those marked until the reset) and the
            // state are durable before the spool forgets them.
            self.spool
                .reset_keeping(usage.next_seq, |dirty| {
                    regions.merge(dirty);
                    store_regions(&self.storage, &regions).map_err(io::Error::other)?;
                    next.store(&self.storage).map_err(io::Error::other)
                })
                .map_err(|e| spool_err(&e))?;
            tracing::info!(
                after,
                paths = regions.iter().count(),
                ranges = regions.range_count(),
                "the resync covers the dirty regions"
            );
            *state = next;
        }
        drop(state);
        tracing::warn!(
            next = usage.next_seq,
            "the spool overflowed: started afresh, the replica is synchronised"
        );
        Ok(())
    }

    fn session<L: Link>(&self, link: L) -> (SessionEnd, bool) {
        if let Err(why) = self.resync_after_overflow() {
            return (SessionEnd::LinkLost(why), false);
        }
        let usage = self.spool.usage();
        let state = self.state.lock().clone();
        let mut cfg = SessionConfig::new(Role::Master, self.config.node, self.config.scenario);
        cfg.generations = state.generations;
        cfg.stored = Point {
            epoch: state.epoch,
            seq: usage.durable_next_seq.saturating_sub(1),
        };
        cfg.can_sync = self.config.root.is_some();
        cfg.first_held = usage.oldest_seq.unwrap_or(usage.next_seq);
        cfg.resync = state.resync;
        cfg.heartbeat = self.config.heartbeat;
        cfg.timeout = self.config.timeout;
        cfg.name = self.config.name.clone();
        let mut conn = match Conn::new(link, cfg, self.clock) {
            Ok(c) => c,
            Err(e) => return (SessionEnd::LinkLost(e.to_string()), false),
        };
        // New durable records wake the session at once.
        let _watch = match Waker::new().and_then(|w| {
            let w = Arc::new(w);
            conn.set_waker(w.clone());
            DurableWatch::start(self.spool.clone(), w)
        }) {
            Ok(w) => w,
            Err(e) => {
                return (
                    SessionEnd::LinkLost(format!("starting the spool watch: {e}")),
                    false,
                )
            }
        };
        let peer_link = conn.peer_name();
        let mut pump: Option<Pump> = None;
        let mut sync: Option<SyncSender> = None;
        let mut sync_after = 0;
        let mut resync_at: Option<(std::time::Instant, String)> = None;
        let mut connected = false;
        let mut last_report = std::time::Instant::now();
        loop {
            if self.stopping() && !conn.session.is_closed() {
                conn.session.close(Reason::Done, "the master agent stops");
            }
            if let Some((_, why)) = resync_at.take_if(|(at, _)| *at <= std::time::Instant::now()) {
                conn.session.close(Reason::Done, &why);
            }
            if conn.session.is_connected() {
                let controls = std::mem::take(&mut *self.shared.controls.lock());
                for c in controls {
                    if let Err(e) = conn.session.control(c) {
                        tracing::warn!(%e, "control request not sent");
                    }
                }
            }
            let mut busy = false;
            if let Some(p) = pump.as_mut() {
                match p.fill(&mut conn.session, &self.config) {
                    Ok(sent) => busy = sent,
                    Err(why) => conn.session.close(Reason::Failure, &why),
                }
            }
            if let Some(s) = sync.as_mut().filter(|_| conn.session.is_connected()) {
                let last = self.spool.usage().durable_next_seq.saturating_sub(1);
                match s.poll(&mut conn.session, last) {
                    Ok(sent) => busy |= sent,
                    Err(why) => self.sync_failed(&mut conn.session, s, &why),
                }
            }
            conn.flush();
            let mut end = None;
            while let Some(ev) = conn.session.poll_event() {
                match ev {
                    Event::Connected {
                        peer,
                        resume_after,
                        sync_needed,
                        sync: sync_first,
                        ..
                    } => {
                        connected = true;
                        if sync_first {
                            match self.start_sync(&mut conn.session, &peer) {
                                Ok(s) => {
                                    sync_after = resume_after.seq;
                                    sync = Some(s);
                                }
                                Err(why) => {
                                    conn.session.close(Reason::Failure, &why);
                                    continue;
                                }
                            }
                        }
                        let sync_needed = sync_needed && !sync_first;
                        {
                            let mut st = self.shared.status.lock();
                            st.link = LinkState::Connected;
                            st.peer = Some(format!("{} ({peer_link})", peer.name));
                            st.acked_stored = resume_after.seq;
                            st.acked_applied = if sync_first {
                                0
                            } else {
                                peer.applied.seq.min(resume_after.seq)
                            };
                        }
                        match Pump::start(&self.spool, resume_after, sync_needed, peer.window) {
                            Ok(p) => pump = Some(p),
                            Err(why) => conn.session.close(Reason::Failure, &why),
                        }
                    }
                    Event::Acked { kind, at } => {
                        let mut st = self.shared.status.lock();
                        match kind {
                            AckKind::Stored => {
                                st.acked_stored = at.seq;
                                drop(st);
                                if let Err(e) = self.spool.ack(at.seq) {
                                    conn.session
                                        .close(Reason::Failure, &format!("master spool: {e}"));
                                }
                                if let Some(p) = pump.as_mut() {
                                    p.acked(at.seq);
                                }
                            }
                            AckKind::Applied => st.acked_applied = at.seq,
                        }
                    }
                    Event::SyncReply(reply) => {
                        if let Some(s) = sync.as_mut() {
                            if let Err(why) = s.on_reply(reply, &mut conn.session) {
                                self.sync_failed(&mut conn.session, s, &why);
                            } else if s.is_done() {
                                match self.sync_done(sync_after, s) {
                                    Ok(Again::No) => {}
                                    Ok(Again::Now(why)) => conn.session.close(Reason::Done, &why),
                                    Ok(Again::After(wait, why)) => {
                                        resync_at = Some((std::time::Instant::now() + wait, why))
                                    }
                                    Err(why) => conn.session.close(Reason::Failure, &why),
                                }
                            }
                        } else {
                            conn.session
                                .close(Reason::Protocol, "a sync reply with no sync under way");
                        }
                    }
                    Event::Closed {
                        reason,
                        text,
                        by_peer,
                    } => {
                        end = Some(SessionEnd::Closed {
                            reason,
                            text,
                            by_peer,
                        })
                    }
                    _ => {}
                }
            }
            conn.flush();
            if let Some(s) = sync.as_ref() {
                let mut st = self.shared.status.lock();
                if st.sync.as_ref() != Some(s.status()) {
                    st.sync = Some(s.status().clone());
                }
            }
            if last_report.elapsed() >= STATUS_EVERY {
                last_report = std::time::Instant::now();
                self.update_status(pump.as_ref());
                if self.config.root.is_some()
                    && conn.session.is_connected()
                    && self.spool.usage().mode != rha_core::spool::SpoolMode::Normal
                {
                    // What the spool dropped is in no journal: the replica
                    // is synchronised again (the next session starts the
                    // spool afresh).
                    conn.session.close(
                        Reason::Done,
                        "the master's spool overflowed: the replica is synchronised again",
                    );
                }
            }
            if let Some(end) = end {
                conn.finish();
                self.update_status(pump.as_ref());
                return (end, connected);
            }
            if let Some(why) = conn.lost() {
                let end = SessionEnd::LinkLost(why.to_owned());
                self.update_status(pump.as_ref());
                return (end, connected);
            }
            // With records waiting and room to send them, only look at
            // the link; otherwise wait a little for acks or new records.
            let wait = if busy {
                Duration::ZERO
            } else {
                Duration::from_millis(2)
            };
            conn.turn(wait);
        }
    }

    /// Starts a sync run over the session with the replica `peer`.
    fn start_sync(
        &self,
        session: &mut rha_core::session::Session,
        peer: &rha_core::session::Hello,
    ) -> Result<SyncSender, String> {
        let Some(root) = self.config.root.as_ref() else {
            return Err("this master has no directory to synchronise from".to_owned());
        };
        let id = self.syncs.fetch_add(1, Ordering::SeqCst) + 1;
        let work = self.config.state_dir.join("sync");
        let regions = self.narrowed_regions(peer)?;
        SyncSender::start(id, root, &work, self.config.sync, regions, session)
    }

    /// The regions a resync covers when it need not cover the whole tree:
    /// those saved after a degrading overflow, if the replica `peer` holds
    /// the master's data outside them. It does if it applied every record
    /// up to the point they start after, or if it is in the middle of a
    /// run narrowed to them (started by this master in this epoch: the
    /// regions only grew since). Marks durably that a narrowed run starts.
    fn narrowed_regions(
        &self,
        peer: &rha_core::session::Hello,
    ) -> Result<Option<DirtyRegions>, String> {
        let mut state = self.state.lock();
        let Some(after) = state.resync_regions_after.filter(|_| state.resync) else {
            return Ok(None);
        };
        let ours = peer.applied.epoch == state.epoch;
        let holds = ours && peer.applied.seq >= after;
        let mid_run = ours && state.resync_narrowed && peer.generations.current == 0;
        if !holds && !mid_run {
            tracing::info!(
                after,
                applied = peer.applied.seq,
                "the replica lacks records from before the dirty regions: \
                 the whole tree is synchronised"
            );
            return Ok(None);
        }
        let regions = match load_regions(&self.storage) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(%e, "the whole tree is synchronised");
                return Ok(None);
            }
        };
        if !state.resync_narrowed {
            let mut next = state.clone();
            next.resync_narrowed = true;
            next.store(&self.storage).map_err(|e| e.to_string())?;
            *state = next;
        }
        Ok(Some(regions))
    }

    /// A sync failed: the session ends (the next one syncs again).
    fn sync_failed(&self, session: &mut rha_core::session::Session, s: &SyncSender, why: &str) {
        tracing::error!(why, "sync failed");
        let mut status = s.status().clone();
        status.finish("failed", Some(why.to_owned()));
        self.shared.status.lock().sync = Some(status);
        session.close(Reason::Failure, &format!("sync: {why}"));
    }

    /// The replica holds the master's data as of the journal point `after`
    /// (or later): what the spool holds up to it is no longer needed.
    /// Says whether another sync must follow: the spool overflowed
    /// meanwhile, or a file vanished during the run (the journal may rename
    /// it, and the sync could not send it; the replica applies the journal
    /// in replay mode until the next run). Up to [`MAX_SYNC_ROUNDS`] runs
    /// follow each other at once; after that, one follows every so often
    /// until a run sees nothing vanish (the files renamed during runs are
    /// then right).
    fn sync_done(&self, after: u64, s: &SyncSender) -> Result<Again, String> {
        if after >= self.spool.usage().resume_seq {
            self.spool
                .ack(after)
                .map_err(|e| format!("master spool: {e}"))?;
        }
        let overflowed = self.spool.usage().mode != rha_core::spool::SpoolMode::Normal;
        let why = if overflowed {
            Some("the master's spool overflowed during the sync: synchronising again")
        } else if s.needs_another() {
            Some("files vanished during the sync: synchronising again")
        } else {
            None
        };
        let again = match why {
            None => {
                self.sync_rounds.store(0, Ordering::SeqCst);
                Again::No
            }
            Some(why) => {
                let rounds = self.sync_rounds.fetch_add(1, Ordering::SeqCst) + 1;
                if rounds < MAX_SYNC_ROUNDS || overflowed {
                    Again::Now(why.to_owned())
                } else {
                    let wait = self.config.retry_max.min(Duration::from_secs(30));
                    tracing::warn!(
                        why,
                        rounds,
                        ?wait,
                        "the tree keeps changing: next sync later"
                    );
                    Again::After(wait, why.to_owned())
                }
            }
        };
        self.shared.status.lock().resync_needed = !matches!(again, Again::No);
        // The run covered what it was to cover. What the spool dropped
        // since is the next session's (see `resync_after_overflow`); files
        // that vanished under the run make the next one cover the tree.
        let mut state = self.state.lock();
        let mut next = state.clone();
        next.resync = s.needs_another();
        next.resync_regions_after = None;
        next.resync_narrowed = false;
        if next != *state {
            next.store(&self.storage).map_err(|e| e.to_string())?;
            *state = next;
        }
        remove_regions(&self.storage).map_err(|e| e.to_string())?;
        Ok(again)
    }

    fn update_status(&self, pump: Option<&Pump>) {
        let usage = self.spool.usage();
        {
            let mut st = self.shared.status.lock();
            st.last_seq = usage.durable_next_seq.saturating_sub(1);
            st.lag_records = st.last_seq.saturating_sub(st.acked_stored);
            let overflowed = st.set_spool(&usage);
            st.resync_needed |= self.state.lock().resync;
            if overflowed {
                tracing::warn!(
                    mode = st.spool_mode,
                    at_seq = st.overflow_at_seq,
                    "the spool overflowed: the replica will need a resynchronisation"
                );
            }
            st.lag_seconds = match pump.and_then(|p| p.oldest_unacked()) {
                Some(ts) if st.lag_records > 0 => age_seconds(ts),
                _ => 0.0,
            };
        }
        self.report();
    }

    /// Writes the status file.
    fn report(&self) {
        let st = self.shared.status.lock().clone();
        st.publish(&self.config.state_dir);
    }
}

/// Reads the spool and sends its records within the window.
struct Pump {
    reader: SpoolReader,
    /// A message encoded but not yet sent (the window was short).
    held: Option<Batch>,
    /// The replica's whole window: a batch larger than this never fits.
    max_window: u64,
    /// (last seq, newest timestamp) of batches sent and not yet acked.
    in_flight: std::collections::VecDeque<(u64, u64)>,
}

struct Batch {
    first: u64,
    last: u64,
    frames: Bytes,
    oldest_ts: u64,
}

impl Pump {
    fn start(
        spool: &Spool,
        resume_after: Point,
        sync_needed: bool,
        window: u64,
    ) -> Result<Self, String> {
        if sync_needed && resume_after.seq != 0 {
            return Err(format!(
                "the replica's data must be synchronised before record {} can follow, \
                 and this master agent has no directory to synchronise it from",
                resume_after.seq + 1
            ));
        }
        let reader = spool.read_from(resume_after.seq + 1).map_err(|e| match e {
            ReadError::Reclaimed { seq, oldest } => format!(
                "the replica needs record {seq} on, but this master holds records from {oldest} \
                 only: the replica must be synchronised (give the master agent its directory)"
            ),
            e => format!("master spool: {e}"),
        })?;
        Ok(Self {
            reader,
            held: None,
            max_window: window,
            in_flight: Default::default(),
        })
    }

    /// Sends what the window allows; says whether it sent anything.
    fn fill(
        &mut self,
        session: &mut rha_core::session::Session,
        config: &MasterConfig,
    ) -> Result<bool, String> {
        let mut sent = false;
        loop {
            if self.held.is_none() {
                if session.window() == 0 {
                    return Ok(sent);
                }
                match self.encode(config, session.max_journal_frames())? {
                    Some(b) => self.held = Some(b),
                    None => return Ok(sent),
                }
            }
            let Some(b) = self.held.as_ref() else {
                return Ok(sent);
            };
            if b.frames.len() as u64 > self.max_window {
                return Err(format!(
                    "records {}..={} take {} bytes, more than the replica's window of {} bytes",
                    b.first,
                    b.last,
                    b.frames.len(),
                    self.max_window
                ));
            }
            match session.send_journal(b.first, b.last, b.frames.clone()) {
                Ok(()) => {
                    tracing::debug!(
                        first = b.first,
                        last = b.last,
                        bytes = b.frames.len(),
                        "batch sent"
                    );
                    self.in_flight.push_back((b.last, b.oldest_ts));
                    self.held = None;
                    sent = true;
                }
                Err(SessionError::Window { .. }) => return Ok(sent),
                Err(e) => return Err(format!("sending records {}..={}: {e}", b.first, b.last)),
            }
        }
    }

    /// The next message: durable records up to about `batch_bytes` (and
    /// within the replica's window), encoded as journal frames.
    fn encode(
        &mut self,
        config: &MasterConfig,
        max_frames: usize,
    ) -> Result<Option<Batch>, String> {
        // A batch may pass the limit by one record and the writer's open
        // batch: aim at half of what a message may carry.
        let limit = config
            .batch_bytes
            .min(usize::try_from(self.max_window / 2).unwrap_or(usize::MAX))
            .min(max_frames / 2)
            .max(1);
        let first = self.reader.position();
        if config.compression == Compression::None {
            return self.forward(limit);
        }
        let wc = WriterConfig::default()
            .stream_header(false)
            .first_seq(first)
            .compression(config.compression)
            .batch_bytes((limit / 4).clamp(4096, 1 << 20));
        // Room for the batch and the record that passes the limit, so the
        // buffer does not grow by copying.
        let mut w = JournalWriter::new(Vec::with_capacity(limit + (64 << 10)), wc);
        let mut last = None;
        let mut oldest_ts = 0;
        while w.get_ref().len() < limit {
            let rec = match self.reader.next_record() {
                Ok(Some(r)) => r,
                Ok(None) => break,
                Err(e) => return Err(format!("master spool: {e}")),
            };
            if last.is_none() {
                oldest_ts = rec.timestamp_ns;
            }
            last = Some(rec.seq);
            w.append_record(&rec)
                .map_err(|e| format!("encoding record {}: {e}", rec.seq))?;
        }
        let Some(last) = last else {
            return Ok(None);
        };
        let frames = w
            .into_inner()
            .map_err(|e| format!("encoding records {first}..={last}: {e}"))?;
        Ok(Some(Batch {
            first,
            last,
            frames: Bytes::from(frames),
            oldest_ts,
        }))
    }

    /// The next message without compression: the spool's own frames of
    /// durable records up to about `limit` bytes, as they are stored
    /// (checked as they are read, not encoded again), shared with the
    /// reader's buffer when they lie back to back in it.
    fn forward(&mut self, limit: usize) -> Result<Option<Batch>, String> {
        let mut runs: Vec<RecordFrames> = Vec::new();
        let mut bytes = 0;
        while bytes < limit {
            let f = match self.reader.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) => return Err(format!("master spool: {e}")),
            };
            bytes += f.len();
            if !runs.last_mut().is_some_and(|run| run.join(&f)) {
                runs.push(f);
            }
        }
        let (Some(head), Some(tail)) = (runs.first(), runs.last()) else {
            return Ok(None);
        };
        let (first, last, oldest_ts) = (head.first(), tail.last(), head.first_timestamp_ns());
        let frames = match runs.as_slice() {
            [one] => one.bytes(),
            runs => {
                let mut joined = Vec::with_capacity(bytes);
                for run in runs {
                    joined.extend_from_slice(&run.bytes());
                }
                Bytes::from(joined)
            }
        };
        Ok(Some(Batch {
            first,
            last,
            frames,
            oldest_ts,
        }))
    }

    fn acked(&mut self, seq: u64) {
        while self.in_flight.front().is_some_and(|&(last, _)| last <= seq) {
            self.in_flight.pop_front();
        }
    }

    fn oldest_unacked(&self) -> Option<u64> {
        self.in_flight
            .front()
            .map(|&(_, ts)| ts)
            .or_else(|| self.held.as_ref().map(|b| b.oldest_ts))
    }
}
