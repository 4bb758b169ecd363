//! The replica's storing thread: makes the records the session appended
//! to the spool durable while the session goes on receiving, and tells it
//! (through its [`Waker`]) how far they are durable, to acknowledge.

use std::sync::Arc;
use std::thread::JoinHandle;

use parking_lot::{Condvar, Mutex};
use rha_core::spool::Spool;

use super::wake::Waker;

#[derive(Debug, Default)]
struct State {
    /// The last record appended (0: none yet).
    appended: u64,
    /// The last record known durable.
    durable: u64,
    /// Why syncing the spool failed; nothing more is made durable.
    failed: Option<String>,
    stop: bool,
}

#[derive(Debug)]
struct Inner {
    state: Mutex<State>,
    more: Condvar,
}

/// Syncs a spool on a thread of its own, behind the appends of one
/// session. Stops (after making what was appended durable) when finished
/// or dropped.
#[derive(Debug)]
pub(crate) struct Storer {
    inner: Arc<Inner>,
    thread: Option<JoinHandle<()>>,
}

impl Storer {
    /// Starts the thread.
    pub(crate) fn start(spool: Arc<Spool>, waker: Arc<Waker>) -> std::io::Result<Self> {
        let inner = Arc::new(Inner {
            state: Mutex::new(State::default()),
            more: Condvar::new(),
        });
        let thread = {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name("rha-store".into())
                .spawn(move || store_loop(&inner, &spool, &waker))?
        };
        Ok(Self {
            inner,
            thread: Some(thread),
        })
    }

    /// Records up to `last` were appended: make them durable.
    pub(crate) fn appended(&self, last: u64) {
        let mut st = self.inner.state.lock();
        st.appended = st.appended.max(last);
        self.inner.more.notify_one();
    }

    /// The last record durable, or why the spool could not be synced.
    pub(crate) fn durable(&self) -> Result<u64, String> {
        let st = self.inner.state.lock();
        match &st.failed {
            Some(why) => Err(why.clone()),
            None => Ok(st.durable),
        }
    }

    /// Makes everything appended durable, stops the thread and returns
    /// [`durable`](Self::durable).
    pub(crate) fn finish(mut self) -> Result<u64, String> {
        self.stop();
        self.durable()
    }

    fn stop(&mut self) {
        self.inner.state.lock().stop = true;
        self.inner.more.notify_one();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                self.inner.state.lock().failed = Some("the storing thread panicked".to_owned());
            }
        }
    }
}

impl Drop for Storer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn store_loop(inner: &Inner, spool: &Spool, waker: &Waker) {
    loop {
        let target = {
            let mut st = inner.state.lock();
            while st.appended <= st.durable && !st.stop {
                inner.more.wait(&mut st);
            }
            if st.appended <= st.durable {
                return;
            }
            st.appended
        };
        // Everything appended before this call is covered by it.
        let r = {
            let _batch = tracing::debug_span!("store", last = target).entered();
            spool.sync()
        };
        {
            let mut st = inner.state.lock();
            match r {
                Ok(()) => st.durable = st.durable.max(target),
                Err(e) => st.failed = Some(format!("replica spool: {e}")),
            }
        }
        waker.signal();
        if inner.state.lock().failed.is_some() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use rha_core::journal::Op;
    use rha_core::spool::{AppendOptions, SpoolConfig};
    use rha_core::storage::{FaultInjector, FaultPlan, Faults, MemStorage};

    use super::*;

    fn spool(faults: &Faults) -> Arc<Spool> {
        let storage = Arc::new(FaultInjector::new(
            Arc::new(MemStorage::new()),
            faults.clone(),
        ));
        let (spool, _) =
            Spool::open(storage, SpoolConfig::default().min_free_bytes(0)).expect("open");
        Arc::new(spool)
    }

    fn append(spool: &Spool, n: u64) {
        for i in 0..n {
            spool
                .append(i, &Op::TxBegin { txid: i }, AppendOptions::no_wait())
                .expect("append");
        }
    }

    /// Waits (bounded) until `f` holds.
    fn until(what: &str, mut f: impl FnMut() -> bool) {
        let limit = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(Instant::now() < limit, "{what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn what_was_appended_becomes_durable_and_wakes_the_session() {
        let faults = Faults::new(FaultPlan::Never);
        let spool = spool(&faults);
        let waker = Arc::new(Waker::new().expect("eventfd"));
        let storer = Storer::start(spool.clone(), waker.clone()).expect("start");
        assert_eq!(storer.durable(), Ok(0));
        append(&spool, 3);
        storer.appended(3);
        until("records 1..=3 durable", || storer.durable() == Ok(3));
        assert_eq!(spool.usage().durable_next_seq, 4);
        let ready = crate::transport::wait_ready(&*waker, false, Some(Duration::from_secs(5)));
        assert!(ready.expect("poll"), "the waker was signalled");
        // Finishing makes the rest durable first.
        append(&spool, 2);
        storer.appended(5);
        assert_eq!(storer.finish(), Ok(5));
        assert_eq!(spool.usage().durable_next_seq, 6);
    }

    #[test]
    fn a_failed_sync_is_reported_and_nothing_more_is_called_durable() {
        let faults = Faults::new(FaultPlan::Never);
        let spool = spool(&faults);
        let waker = Arc::new(Waker::new().expect("eventfd"));
        let storer = Storer::start(spool.clone(), waker).expect("start");
        append(&spool, 2);
        faults.set(FaultPlan::StopAt(0));
        storer.appended(2);
        until("the failure reported", || storer.durable().is_err());
        let why = storer.durable().expect_err("failed");
        assert!(why.starts_with("replica spool: "), "{why}");
        assert!(storer.finish().is_err());
    }
}
