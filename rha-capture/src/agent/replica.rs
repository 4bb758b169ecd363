//! The replica agent: stores what its master sends durably in its own
//! spool, acknowledges it, and applies it in order through the replica's
//! apply engine (with rewind when asked).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;
use rha_core::journal::Record;
use rha_core::session::{
    AckKind, Control, Event, NodeId, Point, Reason, Role, ScenarioId, SessionConfig,
};
use rha_core::spool::{AppendError, AppendOptions, Spool, SpoolConfig, WhenFull};
use rha_core::storage::DirStorage;

use super::conn::{Clock, Conn, SessionEnd};
use super::error::AgentError;
use super::link::Link;
use super::master::STATUS_EVERY;
use super::state::{scenario_hex, AgentState};
use super::status::{age_seconds, AgentStatus, LinkState};
use super::store::Storer;
use super::sync::{SyncReceiver, SyncWorker};
use super::wake::Waker;
use crate::apply::{ReplicaDir, ReplicaOptions};

/// Inside the replica's spool directory (`ROOT/.rha`): the agent's state
/// and status.
pub const REPLICA_AGENT_DIR: &str = "agent";
/// Inside the replica's spool directory: the records received and not yet
/// applied.
pub const REPLICA_INCOMING_DIR: &str = "incoming";

/// Records applied between two checkpoints at most (a checkpoint makes
/// the replica and its applied point durable and reclaims the spool).
const CHECKPOINT_RECORDS: u64 = 8192;
/// Time between two checkpoints at most while records arrive.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// How a replica agent runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReplicaConfig {
    /// The scenario served.
    pub scenario: ScenarioId,
    /// This node's identity.
    pub node: NodeId,
    /// A name for the master's logs (the host name).
    pub name: String,
    /// The replica directory; the agent keeps its state in `ROOT/.rha`.
    pub root: PathBuf,
    /// Keep a rewind log (rewind points and bookmarks on the live replica).
    pub rewind: bool,
    /// Limits of the spool of received records.
    pub spool: SpoolConfig,
    /// Heartbeat interval.
    pub heartbeat: Duration,
    /// Silence from the master for this long ends a session.
    pub timeout: Duration,
    /// Bytes of journal the master may send ahead of the replica's
    /// acknowledgements.
    pub window: u64,
}

impl ReplicaConfig {
    /// The defaults: no rewind, heartbeat 3 s, timeout 30 s, a window of
    /// 8 MiB.
    pub fn new(scenario: ScenarioId, node: NodeId, root: impl Into<PathBuf>) -> Self {
        Self {
            scenario,
            node,
            name: String::new(),
            root: root.into(),
            rewind: false,
            spool: SpoolConfig::default(),
            heartbeat: Duration::from_secs(3),
            timeout: Duration::from_secs(30),
            window: 8 << 20,
        }
    }
}

/// What the network side and the applying thread share.
#[derive(Debug)]
struct Shared {
    status: Mutex<AgentStatus>,
    /// The last record applied durably.
    applied: AtomicU64,
    paused: AtomicBool,
    stop: AtomicBool,
    /// Bookmarks to set once their point is applied, in order.
    bookmarks: Mutex<Vec<(u64, String)>>,
    /// The agent's state, and the directory (and lock) it lives in.
    state: Mutex<AgentState>,
    storage: DirStorage,
    /// Set by the network side: stop applying (a sync is coming); the
    /// applying thread makes its point durable and sets `held`.
    hold: AtomicBool,
    held: AtomicBool,
    /// With `hold` cleared: a sync brought the data to this point of a new
    /// journal sequence (after, replay_to); the applying thread restarts
    /// there and stores `after` in `applied`.
    restart: Mutex<Option<(u64, u64)>>,
    /// Keep a rewind log (once past a sync's replay window).
    rewind: bool,
    /// Set by the applying thread after an error: the session under way
    /// ends, so that the next one syncs.
    sync_wanted: AtomicBool,
}

/// Asks a [`ReplicaAgent`] to stop, from any thread.
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<Shared>);

impl StopHandle {
    /// Ends the session under way in order and stops applying (see
    /// [`ReplicaAgent::request_stop`]).
    pub fn request(&self) {
        self.0.stop.store(true, Ordering::SeqCst);
    }
}

/// A replica agent: serves one master session at a time
/// ([`serve`](Self::serve)) while a thread applies what was stored.
#[derive(Debug)]
pub struct ReplicaAgent {
    config: ReplicaConfig,
    agent_dir: PathBuf,
    spool: Arc<Spool>,
    shared: Arc<Shared>,
    applier: Option<JoinHandle<()>>,
    clock: Clock,
}

impl ReplicaAgent {
    /// Opens the replica (taking its lock, finishing what a crash
    /// interrupted), its spool of received records and its state, and
    /// starts applying what is stored and not yet applied.
    pub fn open(config: ReplicaConfig) -> Result<Self, AgentError> {
        // Opened without a new rewind log: whether it gets one depends on
        // the state (a sync's replay window runs without).
        let mut dir = ReplicaDir::open(&config.root, ReplicaOptions::default())?;
        let base = dir.spool().to_path_buf();
        let agent_dir = base.join(REPLICA_AGENT_DIR);
        let storage = DirStorage::open(&agent_dir).map_err(|source| AgentError::Io {
            path: agent_dir.clone(),
            source,
        })?;
        let hex = scenario_hex(&config.scenario);
        let state = match AgentState::load(&storage)? {
            Some(s) if s.scenario != hex => {
                return Err(AgentError::OtherScenario {
                    path: agent_dir,
                    found: s.scenario,
                    wanted: hex,
                })
            }
            Some(s) => s,
            None => {
                let s = AgentState {
                    version: 1,
                    scenario: hex,
                    ..AgentState::default()
                };
                s.store(&storage)?;
                s
            }
        };
        let incoming = base.join(REPLICA_INCOMING_DIR);
        let (spool, _) = Spool::open_dir(&incoming, config.spool.clone()).map_err(|source| {
            AgentError::Spool {
                path: incoming.clone(),
                source,
            }
        })?;
        if state.replay_to > 0 && dir.replay_through(state.replay_to) {
            tracing::info!(
                replay_to = state.replay_to,
                "records a sync may have included are applied in replay mode"
            );
        } else if config.rewind {
            dir.set_rewind(rha_core::rewind::ReplicaConfig::default())?;
        }
        let applied = dir.applied_point().seq.unwrap_or(0);
        let usage = spool.usage();
        // Records applied but no longer in the spool (it was reclaimed up
        // to them, or lost with a disk): the spool continues after them.
        if applied + 1 > usage.next_seq {
            spool
                .reset(applied + 1)
                .map_err(|e| AgentError::SpoolFailed(format!("{}: {e}", incoming.display())))?;
        }
        // A sync cut short: the data is no point of any sequence until the
        // next one finishes, so nothing is applied meanwhile.
        let syncing = state.sync_since_ns.is_some();
        let shared = Arc::new(Shared {
            status: Mutex::new(AgentStatus::default()),
            applied: AtomicU64::new(applied),
            paused: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            bookmarks: Mutex::new(Vec::new()),
            state: Mutex::new(state.clone()),
            storage,
            hold: AtomicBool::new(syncing),
            held: AtomicBool::new(false),
            restart: Mutex::new(None),
            rewind: config.rewind,
            sync_wanted: AtomicBool::new(false),
        });
        {
            let mut st = shared.status.lock();
            st.role = "replica".to_owned();
            st.epoch = state.epoch;
            st.acked_applied = applied;
        }
        let spool = Arc::new(spool);
        let applier = {
            let spool = spool.clone();
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("rha-apply".to_owned())
                .spawn(move || apply_loop(dir, &spool, &shared))
                .map_err(|source| AgentError::Io {
                    path: config.root.clone(),
                    source,
                })?
        };
        let agent = Self {
            config,
            agent_dir,
            spool,
            shared,
            applier: Some(applier),
            clock: Clock::new(),
        };
        agent.update_status();
        Ok(agent)
    }

    /// A snapshot of the agent's state.
    pub fn status(&self) -> AgentStatus {
        self.shared.status.lock().clone()
    }

    /// The directory holding the agent's state and status file.
    pub fn state_dir(&self) -> &Path {
        &self.agent_dir
    }

    /// A handle that asks the agent to stop from another thread (a signal
    /// watcher), as [`request_stop`](Self::request_stop) does.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.shared.clone())
    }

    /// Asks a running [`serve`](Self::serve) to end its session in order
    /// and return, and the applying thread to stop (see
    /// [`stop`](Self::stop)).
    pub fn request_stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }

    /// Serves one session over `link` until it ends (the master closes
    /// it, the link fails, or [`request_stop`](Self::request_stop)).
    pub fn serve(&self, link: impl Link) -> Result<SessionEnd, AgentError> {
        let span = tracing::info_span!("replica_agent", root = %self.config.root.display());
        let _enter = span.enter();
        let state = self.shared.state.lock().clone();
        let usage = self.spool.usage();
        let stored = usage.durable_next_seq.saturating_sub(1);
        let applied = self.shared.applied.load(Ordering::SeqCst);
        let mut cfg = SessionConfig::new(Role::Replica, self.config.node, self.config.scenario);
        cfg.generations = state.generations;
        cfg.stored = Point {
            epoch: state.epoch,
            seq: stored,
        };
        cfg.applied = Point {
            epoch: state.epoch,
            seq: applied.min(stored),
        };
        cfg.heartbeat = self.config.heartbeat;
        cfg.timeout = self.config.timeout;
        cfg.window = self.config.window;
        cfg.name = self.config.name.clone();
        {
            let mut st = self.shared.status.lock();
            st.link = LinkState::Connecting;
            st.sessions += 1;
        }
        let mut conn = Conn::new(link, cfg, self.clock).map_err(|source| AgentError::Io {
            path: self.config.root.clone(),
            source,
        })?;
        let peer_link = conn.peer_name();
        let mut epoch = state.epoch;
        let waker = Arc::new(Waker::new().map_err(|source| AgentError::Io {
            path: self.config.root.clone(),
            source,
        })?);
        conn.set_waker(waker.clone());
        // Records appended to the spool, made durable on a thread of their
        // own while the session goes on receiving; their batches (last
        // record, bytes) until acknowledged stored, when the window grows
        // by their bytes again.
        let mut storer = Some(Storer::start(self.spool.clone(), waker.clone()).map_err(
            |source| AgentError::Io {
                path: self.config.root.clone(),
                source,
            },
        )?);
        let mut unstored: std::collections::VecDeque<(u64, u64)> = Default::default();
        let mut grant_pending: u64 = 0;
        let mut acked_applied = 0;
        let mut last_report = std::time::Instant::now();
        let mut sync: Option<SyncWorker> = None;
        // (master's generations, where the journal resumes, files changed
        // since this time count as changed)
        let mut sync_plan: Option<(rha_core::ha::Generations, Point, Option<i64>)> = None;
        let end = loop {
            if self.shared.stop.load(Ordering::SeqCst) && !conn.session.is_closed() {
                // The last acknowledgement first: all that arrived is stored.
                if let Some(Ok(last)) = storer.take().map(Storer::finish) {
                    if unstored.back().is_some_and(|b| b.0 <= last) {
                        let _ = conn
                            .session
                            .ack(AckKind::Stored, Point { epoch, seq: last });
                        self.shared.status.lock().acked_stored = last;
                    }
                    unstored.clear();
                }
                conn.session.close(Reason::Done, "the replica agent stops");
            }
            if sync.is_none()
                && conn.session.is_connected()
                && self.shared.sync_wanted.swap(false, Ordering::SeqCst)
            {
                let why = self.shared.status.lock().apply_error.clone();
                conn.session.close(
                    Reason::Failure,
                    &format!(
                        "the replica could not apply the journal ({}): it must be synchronised",
                        why.unwrap_or_default()
                    ),
                );
            }
            let mut end = None;
            while let Some(ev) = conn.session.poll_event() {
                match ev {
                    Event::Connected {
                        peer,
                        resume_after,
                        sync: sync_first,
                        ..
                    } => {
                        if sync_first {
                            match self.prepare_sync(resume_after) {
                                Ok(since) => {
                                    sync_plan = Some((peer.generations, resume_after, since))
                                }
                                Err(why) => {
                                    conn.session.close(Reason::Failure, &why);
                                    continue;
                                }
                            }
                        } else if let Err(why) = self.adopt(resume_after, &peer) {
                            conn.session.close(Reason::Generations, &why);
                            continue;
                        }
                        epoch = resume_after.epoch;
                        acked_applied = if sync_first {
                            0
                        } else {
                            applied.min(resume_after.seq)
                        };
                        let mut st = self.shared.status.lock();
                        st.link = LinkState::Connected;
                        st.peer = Some(format!("{} ({peer_link})", peer.name));
                        st.epoch = epoch;
                        st.acked_stored = resume_after.seq;
                    }
                    Event::Journal { last, frames, .. } => {
                        let opts = AppendOptions::no_wait().when_full(WhenFull::Fail);
                        let len = frames.len() as u64;
                        match self.spool.append_journal_shared(frames, opts) {
                            Ok(_) => {
                                if let Some(s) = &storer {
                                    s.appended(last);
                                }
                                unstored.push_back((last, len));
                            }
                            Err(e @ AppendError::Full { .. }) => conn
                                .session
                                .close(Reason::Full, &format!("replica spool: {e}")),
                            Err(e) => conn
                                .session
                                .close(Reason::Failure, &format!("replica spool: {e}")),
                        }
                    }
                    Event::Control(c) => self.control(c),
                    Event::Sync(request) => {
                        if let Err(why) =
                            self.on_sync(request, &mut sync, &sync_plan, &conn.session, &waker)
                        {
                            self.sync_failed(sync.take(), &why);
                            conn.session.close(Reason::Failure, &format!("sync: {why}"));
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
            if let Some(s) = storer.as_ref() {
                match s.durable() {
                    Ok(durable) => {
                        let mut last = None;
                        while let Some(&(seq, len)) = unstored.front().filter(|b| b.0 <= durable) {
                            unstored.pop_front();
                            grant_pending += len;
                            last = Some(seq);
                        }
                        if let Some(last) = last {
                            let _ = conn
                                .session
                                .ack(AckKind::Stored, Point { epoch, seq: last });
                            self.shared.status.lock().acked_stored = last;
                        }
                    }
                    Err(why) => conn.session.close(Reason::Failure, &why),
                }
            }
            if let Some(w) = sync.as_mut().filter(|_| conn.session.is_connected()) {
                match self.poll_sync(w, &mut sync_plan, &mut conn.session) {
                    Ok(true) => sync = None,
                    Ok(false) => {}
                    Err(why) => {
                        self.sync_failed(sync.take(), &why);
                        conn.session.close(Reason::Failure, &format!("sync: {why}"));
                    }
                }
            }
            if grant_pending > 0 && conn.session.is_connected() && self.has_room() {
                let _ = conn.session.grant(grant_pending);
                grant_pending = 0;
            }
            let applied_now = self.shared.applied.load(Ordering::SeqCst);
            let stored_now = self.shared.status.lock().acked_stored;
            if conn.session.is_connected() && applied_now > acked_applied {
                let seq = applied_now.min(stored_now);
                if seq > acked_applied
                    && conn
                        .session
                        .ack(AckKind::Applied, Point { epoch, seq })
                        .is_ok()
                {
                    acked_applied = seq;
                }
            }
            conn.flush();
            if let Some(w) = &sync {
                w.sent(&conn.session);
            }
            if last_report.elapsed() >= STATUS_EVERY {
                last_report = std::time::Instant::now();
                self.update_status();
            }
            if let Some(end) = end {
                conn.finish();
                break end;
            }
            if let Some(why) = conn.lost() {
                break SessionEnd::LinkLost(why.to_owned());
            }
            // The sync's thread, like the storing thread, wakes the wait.
            conn.turn(Duration::from_millis(2));
        };
        {
            let mut st = self.shared.status.lock();
            st.link = LinkState::Down;
            st.peer = None;
            st.last_end = Some(end.to_string());
        }
        self.update_status();
        Ok(end)
    }

    /// Takes the master's epoch and generation when the journal starts a
    /// new epoch, which only an empty replica may follow.
    fn adopt(&self, resume_after: Point, peer: &rha_core::session::Hello) -> Result<(), String> {
        let mut state = self.shared.state.lock();
        if resume_after.epoch == state.epoch {
            return Ok(());
        }
        let usage = self.spool.usage();
        let applied = self.shared.applied.load(Ordering::SeqCst);
        if usage.next_seq != 1 || applied != 0 || resume_after.seq != 0 {
            return Err(format!(
                "this replica follows epoch {} up to record {}; the master's journal is epoch {}: \
                 the replica must be synchronised first",
                state.epoch,
                applied.max(usage.next_seq.saturating_sub(1)),
                resume_after.epoch
            ));
        }
        let mut next = state.clone();
        next.epoch = resume_after.epoch;
        next.generations = peer.generations;
        next.store(&self.shared.storage)
            .map_err(|e| e.to_string())?;
        *state = next;
        tracing::info!(
            epoch = resume_after.epoch,
            "following a new epoch from its start"
        );
        Ok(())
    }

    /// The master syncs first: stops applying, marks the replica as under
    /// sync durably (its data follows no sequence until the sync is done),
    /// and starts the spool of received records at the master's point.
    /// Returns the time from which this sync suspects files the replica
    /// changed: that of an earlier sync cut short, or of the end of one
    /// that said another would follow.
    fn prepare_sync(&self, resume_after: Point) -> Result<Option<i64>, String> {
        self.shared.hold.store(true, Ordering::SeqCst);
        // An applying thread waiting for records sees the hold at once.
        self.spool.interrupt_waits();
        let waited = std::time::Instant::now();
        while !self.shared.held.load(Ordering::SeqCst) {
            if self.applier.as_ref().is_none_or(|t| t.is_finished()) {
                break;
            }
            if waited.elapsed() > Duration::from_secs(60) {
                return Err("the applying thread did not stop for the sync".to_owned());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let earlier = {
            let mut state = self.shared.state.lock();
            let earlier = match (state.sync_since_ns, state.suspect_since_ns) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let mut next = state.clone();
            next.sync_since_ns = Some(state.sync_since_ns.unwrap_or_else(now_ns));
            next.epoch = resume_after.epoch;
            next.generations.current = 0;
            next.replay_to = 0;
            next.store(&self.shared.storage)
                .map_err(|e| e.to_string())?;
            *state = next;
            earlier
        };
        self.shared.applied.store(0, Ordering::SeqCst);
        self.spool
            .restart(resume_after.seq + 1)
            .map_err(|e| format!("replica spool: {e}"))?;
        self.shared.status.lock().epoch = resume_after.epoch;
        Ok(earlier)
    }

    /// Sends the sync thread's replies and acts on what it reports: what
    /// it wrote is durable up to a time (a later sync suspects only files
    /// changed since), or the run ended (the replica continues after the
    /// master's point and says done). Says whether the run ended.
    fn poll_sync(
        &self,
        w: &mut SyncWorker,
        plan: &mut Option<(rha_core::ha::Generations, Point, Option<i64>)>,
        session: &mut rha_core::session::Session,
    ) -> Result<bool, String> {
        let polled = w.poll(session)?;
        if let Some(status) = w.status() {
            let mut st = self.shared.status.lock();
            if st.sync.as_ref() != Some(&status) {
                st.sync = Some(status);
            }
        }
        if let Some(since) = polled.durable_since {
            let mut state = self.shared.state.lock();
            let mut next = state.clone();
            next.sync_since_ns = Some(since);
            next.store(&self.shared.storage)
                .map_err(|e| e.to_string())?;
            *state = next;
        }
        let Some(replay_to) = polled.done else {
            return Ok(false);
        };
        let Some((generations, resume_after, _)) = plan.take() else {
            return Err("a sync ended in a session that does not sync".to_owned());
        };
        self.finish_sync(resume_after, replay_to, generations)?;
        let id = w.status().map_or(0, |s| s.id);
        session
            .send_sync_reply(rha_core::session::SyncReply::Done { id })
            .map_err(|e| e.to_string())?;
        Ok(true)
    }

    /// Records a failed sync in the status.
    fn sync_failed(&self, w: Option<SyncWorker>, why: &str) {
        tracing::error!(why, "sync failed");
        if let Some(mut status) = w.as_ref().and_then(SyncWorker::status) {
            status.finish("failed", Some(why.to_owned()));
            self.shared.status.lock().sync = Some(status);
        }
    }

    /// Takes a sync message of the master: the start of a run starts its
    /// thread; the others go to it, in order.
    fn on_sync(
        &self,
        request: rha_core::session::SyncRequest,
        sync: &mut Option<SyncWorker>,
        plan: &Option<(rha_core::ha::Generations, Point, Option<i64>)>,
        session: &rha_core::session::Session,
        waker: &Arc<Waker>,
    ) -> Result<(), String> {
        let Some((_, _, since)) = *plan else {
            return Err("a sync message in a session that does not sync (or synced)".to_owned());
        };
        if let rha_core::session::SyncRequest::Begin {
            id,
            mode,
            block_size,
            scope,
            ..
        } = request
        {
            if sync.is_some() {
                return Err("a second sync in one session".to_owned());
            }
            let receiver =
                SyncReceiver::start(id, mode, block_size, &scope, &self.config.root, since)?;
            let w = SyncWorker::start(receiver, session, waker.clone())
                .map_err(|e| format!("starting the sync thread: {e}"))?;
            *sync = Some(w);
            return Ok(());
        }
        let Some(w) = sync.as_mut() else {
            return Err("a sync message before the sync started".to_owned());
        };
        w.request(request)
    }

    /// The synced data is durable: the applying thread continues after the
    /// master's point (records up to `replay_to` in replay mode), then the
    /// replica takes the master's generation.
    fn finish_sync(
        &self,
        resume_after: Point,
        replay_to: u64,
        generations: rha_core::ha::Generations,
    ) -> Result<(), String> {
        let restarted = now_ns();
        *self.shared.restart.lock() = Some((resume_after.seq, replay_to));
        self.shared.hold.store(false, Ordering::SeqCst);
        let waited = std::time::Instant::now();
        while self.shared.restart.lock().is_some() {
            if self.applier.as_ref().is_none_or(|t| t.is_finished()) {
                return Err(self
                    .shared
                    .status
                    .lock()
                    .apply_error
                    .clone()
                    .unwrap_or_else(|| "the applying thread stopped".to_owned()));
            }
            if waited.elapsed() > Duration::from_secs(60) {
                return Err("the applying thread did not restart after the sync".to_owned());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if let Some(e) = self.shared.status.lock().apply_error.clone() {
            return Err(format!("restarting application after the sync: {e}"));
        }
        let mut state = self.shared.state.lock();
        let mut next = state.clone();
        next.sync_since_ns = None;
        // Another sync follows: what the journal changes until then is
        // suspect to it.
        next.suspect_since_ns = (replay_to == u64::MAX).then_some(restarted);
        next.generations = generations;
        next.replay_to = if replay_to > resume_after.seq {
            replay_to
        } else {
            0
        };
        next.store(&self.shared.storage)
            .map_err(|e| e.to_string())?;
        *state = next;
        tracing::info!(after = resume_after.seq, replay_to, "sync done");
        Ok(())
    }

    fn control(&self, c: Control) {
        match c {
            Control::Pause => self.shared.paused.store(true, Ordering::SeqCst),
            Control::Resume => self.shared.paused.store(false, Ordering::SeqCst),
            Control::Bookmark { at, name } => self.shared.bookmarks.lock().push((at.seq, name)),
        }
    }

    /// Whether the spool can take another window's worth of records.
    fn has_room(&self) -> bool {
        let u = self.spool.usage();
        u.capacity_bytes.saturating_sub(u.used_bytes) >= self.config.window
    }

    fn update_status(&self) {
        let usage = self.spool.usage();
        let st = {
            let mut st = self.shared.status.lock();
            st.last_seq = usage.durable_next_seq.saturating_sub(1);
            st.acked_applied = self.shared.applied.load(Ordering::SeqCst);
            st.lag_records = st.last_seq.saturating_sub(st.acked_applied);
            st.set_spool(&usage);
            st.paused = self.shared.paused.load(Ordering::SeqCst);
            if st.lag_records == 0 {
                st.lag_seconds = 0.0;
            }
            st.clone()
        };
        st.publish(&self.agent_dir);
    }

    /// Stops applying (after a last checkpoint) and returns the final
    /// status. A running [`serve`](Self::serve) must have returned.
    pub fn stop(mut self) -> Result<AgentStatus, AgentError> {
        self.halt()?;
        self.shared.status.lock().link = LinkState::Stopped;
        self.update_status();
        if let Some(e) = self.shared.status.lock().apply_error.clone() {
            tracing::warn!(e, "the replica stopped applying after an error");
        }
        Ok(self.status())
    }

    fn halt(&mut self) -> Result<(), AgentError> {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.applier.take() {
            t.join().map_err(|_| AgentError::Panicked("apply"))?;
        }
        Ok(())
    }
}

impl Drop for ReplicaAgent {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}

/// The applying thread: reads the spool of received records in order and
/// applies them, checkpointing now and then. At an error (which the status
/// reports) it keeps what it applied and waits: a sync restarts the
/// sequence and application with it.
fn apply_loop(mut dir: ReplicaDir, spool: &Spool, shared: &Shared) {
    let _span = tracing::info_span!("apply_loop").entered();
    loop {
        match apply_until_stopped(&mut dir, spool, shared) {
            Ok(()) => break,
            Err(e) => {
                tracing::error!(%e, "the replica stops applying until a sync");
                shared.status.lock().apply_error = Some(e.to_string());
                // The data is no longer the journal's point: ask for a
                // sync, durably (a replica without a generation gets one).
                if let Err(e) = want_sync(shared) {
                    tracing::error!(%e, "could not mark the replica as needing a sync");
                }
                if let Err(e) = checkpoint(&mut dir, spool, shared) {
                    tracing::error!(%e, "checkpoint after the error failed");
                }
                while !shared.stop.load(Ordering::SeqCst) && !shared.hold.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                if shared.stop.load(Ordering::SeqCst) {
                    break;
                }
            }
        }
    }
    // Whatever happened, keep what was applied.
    if let Err(e) = checkpoint(&mut dir, spool, shared) {
        tracing::error!(%e, "last checkpoint failed");
    }
}

fn apply_until_stopped(
    dir: &mut ReplicaDir,
    spool: &Spool,
    shared: &Shared,
) -> Result<(), AgentError> {
    let mut reader = None;
    let mut since = 0u64;
    let mut last_checkpoint = std::time::Instant::now();
    while !shared.stop.load(Ordering::SeqCst) {
        if shared.hold.load(Ordering::SeqCst) {
            hold(dir, spool, shared)?;
            reader = None;
            since = 0;
            continue;
        }
        let r = match reader.as_mut() {
            Some(r) => r,
            None => {
                let start = shared.applied.load(Ordering::SeqCst) + 1;
                reader.insert(
                    spool
                        .read_from(start)
                        .map_err(|e| AgentError::SpoolFailed(e.to_string()))?,
                )
            }
        };
        past_replay_window(dir, shared)?;
        if shared.paused.load(Ordering::SeqCst) {
            if since > 0 {
                checkpoint(dir, spool, shared)?;
                since = 0;
            }
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        let rec: Option<Record> = r
            .next_record()
            .map_err(|e| AgentError::SpoolFailed(e.to_string()))?;
        match rec {
            Some(rec) => {
                set_bookmarks(dir, shared, rec.seq);
                let newest_ts = rec.timestamp_ns;
                dir.apply_next(rec)?;
                since += 1;
                if since >= CHECKPOINT_RECORDS || last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
                    checkpoint(dir, spool, shared)?;
                    shared.status.lock().lag_seconds = age_seconds(newest_ts);
                    since = 0;
                    last_checkpoint = std::time::Instant::now();
                }
            }
            None => {
                if since > 0 {
                    checkpoint(dir, spool, shared)?;
                    since = 0;
                    last_checkpoint = std::time::Instant::now();
                }
                set_bookmarks(dir, shared, u64::MAX);
                spool.wait_durable(
                    rha_core::spool::SpoolReader::position(r),
                    Duration::from_millis(20),
                );
            }
        }
    }
    Ok(())
}

/// A sync is coming: makes what was applied durable, then waits until the
/// sync is done (restarting the sequence where it says) or the agent stops.
fn hold(dir: &mut ReplicaDir, spool: &Spool, shared: &Shared) -> Result<(), AgentError> {
    if !shared.held.load(Ordering::SeqCst) {
        // The sync replaces what a failed checkpoint would have kept.
        if let Err(e) = checkpoint(dir, spool, shared) {
            tracing::warn!(%e, "checkpoint before the sync failed");
        }
        shared.held.store(true, Ordering::SeqCst);
    }
    while shared.hold.load(Ordering::SeqCst) && !shared.stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(2));
    }
    if shared.stop.load(Ordering::SeqCst) {
        return Ok(());
    }
    shared.held.store(false, Ordering::SeqCst);
    let restart = *shared.restart.lock();
    if let Some((after, replay_to)) = restart {
        let done = restart_after_sync(dir, shared, after, replay_to);
        shared.status.lock().apply_error = done.as_ref().err().map(|e| e.to_string());
        // The network side waits for this, then reads the error.
        *shared.restart.lock() = None;
        done?;
    }
    Ok(())
}

fn restart_after_sync(
    dir: &mut ReplicaDir,
    shared: &Shared,
    after: u64,
    replay_to: u64,
) -> Result<(), AgentError> {
    if let Some(d) = dir.restart_sequence(after, replay_to)? {
        tracing::warn!(
            dropped = %crate::sync::describe_dropped_points(&d),
            "the sync made the rewind points wrong: dropped"
        );
    }
    if shared.rewind && replay_to <= after {
        // No window to replay: the rewind log starts at once.
        dir.set_rewind(rha_core::rewind::ReplicaConfig::default())?;
    }
    shared.applied.store(after, Ordering::SeqCst);
    Ok(())
}

/// Once the replica is past the records a sync may have included: back to
/// strict application, with the rewind log if the agent keeps one.
fn past_replay_window(dir: &mut ReplicaDir, shared: &Shared) -> Result<(), AgentError> {
    let replay_to = shared.state.lock().replay_to;
    if replay_to == 0 || shared.applied.load(Ordering::SeqCst) < replay_to {
        return Ok(());
    }
    if shared.rewind {
        dir.set_rewind(rha_core::rewind::ReplicaConfig::default())?;
    }
    let mut state = shared.state.lock();
    let mut next = state.clone();
    next.replay_to = 0;
    next.store(&shared.storage)?;
    *state = next;
    tracing::info!(replay_to, "past the sync's replay window");
    Ok(())
}

/// Marks the replica as needing a sync: its generation is cleared durably
/// (the session's rules then sync it), and the session under way is asked
/// to end.
fn want_sync(shared: &Shared) -> Result<(), AgentError> {
    {
        let mut state = shared.state.lock();
        if state.generations.current != 0 {
            let mut next = state.clone();
            next.generations.current = 0;
            next.store(&shared.storage)?;
            *state = next;
        }
    }
    shared.sync_wanted.store(true, Ordering::SeqCst);
    Ok(())
}

/// Nanoseconds since the Unix epoch, now.
fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Sets the bookmarks due before record `next` is applied: those at or
/// before the replica's current point.
fn set_bookmarks(dir: &mut ReplicaDir, shared: &Shared, next: u64) {
    let mut due = Vec::new();
    {
        let mut marks = shared.bookmarks.lock();
        let taken = dir.replica().current_point().unwrap_or(0);
        marks.retain(|(at, name)| {
            let ready = *at < next && *at <= taken.max(shared.applied.load(Ordering::SeqCst));
            if ready {
                due.push(name.clone());
            }
            !ready
        });
    }
    for name in due {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        match dir.replica().set_bookmark(&name, now, false) {
            Ok(()) => tracing::info!(name, "bookmark set"),
            Err(e) => tracing::warn!(name, %e, "bookmark not set"),
        }
    }
}

/// Makes the replica and its applied point durable, then reclaims the
/// records it covers.
fn checkpoint(dir: &mut ReplicaDir, spool: &Spool, shared: &Shared) -> Result<(), AgentError> {
    let _span = tracing::debug_span!("checkpoint").entered();
    if let Some(point) = dir.sync()? {
        shared.applied.store(point, Ordering::SeqCst);
        if point >= spool.usage().resume_seq {
            spool
                .ack(point)
                .map_err(|e| AgentError::SpoolFailed(e.to_string()))?;
        }
    }
    Ok(())
}
