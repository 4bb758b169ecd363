//! A replica's sync on a thread of its own: the session thread receives
//! and decrypts the master's messages and hands the sync's requests over;
//! this thread applies them (decoding, writing, hashing, checking),
//! scans and hashes, and queues its replies, which the session thread
//! sends. Writing into the page cache is most of a first copy's work; on
//! the session thread it left the other core idle.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender as Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;
use rha_core::session::{Session, SyncReply, SyncRequest};

use super::{Replies, SyncReceiver, SyncStatus, OUT_BUDGET};
use crate::agent::wake::Waker;

/// Requests waiting for the sync thread at most: past this the session
/// thread waits, and the master's messages wait in the link.
const QUEUED_REQUESTS: usize = 4;

/// Block requests a master may have waiting for their answers (it sends
/// one at a time); past this it is refused, whatever it sends.
const MAX_BLOCKS_WAITING: usize = 64;

/// How long the sync thread waits for a request while it has nothing else
/// to do, before it looks whether to make its writes durable.
const IDLE_WAIT: Duration = Duration::from_millis(20);

/// What the sync thread and the session thread share.
#[derive(Debug, Default)]
struct Shared {
    /// Replies to send, in order.
    outbox: Mutex<VecDeque<SyncReply>>,
    /// Bytes of the outbox's replies, and of the session's output, which
    /// the sync thread keeps within its budget as it would the session's.
    outbox_bytes: AtomicUsize,
    session_pending: AtomicUsize,
    /// The run's progress, as of the sync thread's last step.
    status: Mutex<Option<SyncStatus>>,
    /// What the thread has to report: its end, a failure, a checkpoint.
    report: Mutex<Report>,
}

#[derive(Debug, Default)]
struct Report {
    /// The run ended: the last journal record its content may include.
    done: Option<u64>,
    failed: Option<String>,
    /// The newest time before which everything the sync wrote is durable.
    durable_since: Option<i64>,
}

/// The sync thread's side of [`Replies`].
struct Outbox {
    shared: Arc<Shared>,
    waker: Arc<Waker>,
    max_body: usize,
}

impl Replies for Outbox {
    fn send_sync_reply(&mut self, reply: SyncReply) -> Result<(), String> {
        self.shared
            .outbox_bytes
            .fetch_add(reply_bytes(&reply), Ordering::SeqCst);
        self.shared.outbox.lock().push_back(reply);
        self.waker.signal();
        Ok(())
    }
    fn max_body(&self) -> usize {
        self.max_body
    }
    fn pending_output(&self) -> usize {
        self.shared.outbox_bytes.load(Ordering::SeqCst)
            + self.shared.session_pending.load(Ordering::SeqCst)
    }
}

/// About the bytes a reply takes in the session's output.
fn reply_bytes(reply: &SyncReply) -> usize {
    64 + match reply {
        SyncReply::Tree { chunk, .. } => chunk.len(),
        SyncReply::Blocks { hashes, .. } => hashes.len(),
        _ => 0,
    }
}

/// What the session thread learns from the sync thread in one look.
#[derive(Debug, Default)]
pub(crate) struct Polled {
    /// The run ended: the last journal record its content may include
    /// (every reply of the run was sent before this is seen).
    pub(crate) done: Option<u64>,
    /// A checkpoint: everything written before this time is durable.
    pub(crate) durable_since: Option<i64>,
}

/// A [`SyncReceiver`] running on its own thread. Dropping it stops the
/// thread (what it wrote stays, as after a cut link).
pub(crate) struct SyncWorker {
    tx: Option<Sender<SyncRequest>>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    /// Block requests handed over and not yet answered in full.
    blocks_waiting: usize,
}

impl SyncWorker {
    /// Starts `receiver` on a thread; its replies wake the session thread
    /// through `waker`.
    pub(crate) fn start(
        receiver: SyncReceiver,
        session: &Session,
        waker: Arc<Waker>,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared::default());
        *shared.status.lock() = Some(receiver.status().clone());
        let (tx, rx) = mpsc::sync_channel(QUEUED_REQUESTS);
        let outbox = Outbox {
            shared: shared.clone(),
            waker,
            max_body: session.max_body(),
        };
        let thread = std::thread::Builder::new()
            .name("rha-sync-apply".into())
            .spawn(move || run(receiver, &rx, outbox))?;
        Ok(Self {
            tx: Some(tx),
            shared,
            thread: Some(thread),
            blocks_waiting: 0,
        })
    }

    /// Hands a request of the master over, in order; waits while the
    /// thread has [`QUEUED_REQUESTS`] waiting. Fails once the thread
    /// stopped (its failure says why).
    pub(crate) fn request(&mut self, request: SyncRequest) -> Result<(), String> {
        if matches!(request, SyncRequest::Blocks { .. }) {
            if self.blocks_waiting >= MAX_BLOCKS_WAITING {
                return Err(format!(
                    "more than {MAX_BLOCKS_WAITING} block requests waiting: the master does not \
                     wait for the answers"
                ));
            }
            self.blocks_waiting += 1;
        }
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(request).is_ok());
        if sent {
            return Ok(());
        }
        Err(self
            .shared
            .report
            .lock()
            .failed
            .clone()
            .unwrap_or_else(|| "the sync thread stopped".to_owned()))
    }

    /// Sends the thread's replies and says what it reported; a failure
    /// of the run is an error.
    pub(crate) fn poll(&mut self, session: &mut Session) -> Result<Polled, String> {
        // What was reported first, then the replies queued before it.
        let (done, failed, durable_since) = {
            let mut r = self.shared.report.lock();
            (r.done, r.failed.clone(), r.durable_since.take())
        };
        let replies = std::mem::take(&mut *self.shared.outbox.lock());
        for reply in replies {
            self.shared
                .outbox_bytes
                .fetch_sub(reply_bytes(&reply), Ordering::SeqCst);
            if matches!(reply, SyncReply::Blocks { last: true, .. }) {
                self.blocks_waiting = self.blocks_waiting.saturating_sub(1);
            }
            session.send_sync_reply(reply).map_err(|e| e.to_string())?;
        }
        self.shared
            .session_pending
            .store(session.pending_output(), Ordering::SeqCst);
        if let Some(why) = failed {
            return Err(why);
        }
        Ok(Polled {
            done,
            durable_since,
        })
    }

    /// The run's progress.
    pub(crate) fn status(&self) -> Option<SyncStatus> {
        self.shared.status.lock().clone()
    }

    /// The session's output was sent: the thread may queue more.
    pub(crate) fn sent(&self, session: &Session) {
        self.shared
            .session_pending
            .store(session.pending_output(), Ordering::SeqCst);
    }
}

impl Drop for SyncWorker {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The sync thread: requests in order, scanning and hashing between them,
/// durable points now and then, until the run ends, fails, or the session
/// thread lets go.
fn run(mut receiver: SyncReceiver, rx: &Receiver<SyncRequest>, mut out: Outbox) {
    let _span = tracing::info_span!("sync_apply").entered();
    let shared = out.shared.clone();
    let waker = out.waker.clone();
    let fail = |why: String| {
        shared.report.lock().failed = Some(why);
        waker.signal();
    };
    loop {
        let wait = match (receiver.has_work(), out.pending_output() < OUT_BUDGET) {
            (true, true) => Duration::ZERO,
            // Scanning or hashing, with the replies not yet sent: a little.
            (true, false) => Duration::from_millis(1),
            (false, _) => IDLE_WAIT,
        };
        match rx.recv_timeout(wait) {
            Ok(request) => match receiver.on_request(request, &mut out) {
                Ok(Some(replay_to)) => {
                    *shared.status.lock() = Some(receiver.status().clone());
                    shared.report.lock().done = Some(replay_to);
                    waker.signal();
                    return;
                }
                Ok(None) => {}
                Err(why) => return fail(why),
            },
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if let Err(why) = receiver.poll(&mut out) {
            return fail(why);
        }
        match receiver.checkpoint() {
            Ok(Some(since)) => shared.report.lock().durable_since = Some(since),
            Ok(None) => {}
            Err(why) => return fail(why),
        }
        let status = receiver.status();
        let mut st = shared.status.lock();
        if st.as_ref() != Some(status) {
            *st = Some(status.clone());
        }
    }
}
