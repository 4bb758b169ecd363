//! Spreading independent hashing work over a few threads.
//!
//! Jobs stay single-threaded unless their caller asks for more; then the
//! job starts a [`Pool`] of helper threads on its first large step and
//! keeps it until the job is dropped, so a file costs one thread start per
//! helper rather than one per step. A step's work is cut into small tasks
//! that the calling thread and the helpers take from a shared counter: a
//! helper that the system does not schedule in time leaves its share to
//! the others instead of stalling the step, and the step waits at most for
//! the tasks already started. The result is the same as on one thread.
//!
//! The tasks borrow the caller's input, which lives only for the call:
//! [`Pool::broadcast`] returns only after every helper has left the work
//! it was given (even when the work panics), and a panic on any thread is
//! raised again on the calling thread.

use std::any::Any;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use parking_lot::{Condvar, Mutex};

/// Helper threads that live as long as their owner (a signature or delta
/// job) and run the work [`broadcast`](Self::broadcast) hands them.
pub(crate) struct Pool {
    shared: Arc<Shared>,
    helpers: Vec<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    /// Signalled when work is posted or the pool shuts down.
    work: Condvar,
    /// Signalled when the last helper leaves the posted work.
    idle: Condvar,
}

/// The posted work, with its borrow's lifetime erased (see `broadcast`).
type Work = &'static (dyn Fn() + Sync);

struct State {
    work: Option<Work>,
    /// Counts postings, so that a helper runs each one at most once.
    round: u64,
    /// Helpers inside the posted work.
    busy: usize,
    /// The first panic of a helper in the current round.
    panic: Option<Box<dyn Any + Send>>,
    shutdown: bool,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("helpers", &self.helpers.len())
            .finish()
    }
}

impl Pool {
    /// A pool of up to `helpers` threads (fewer if the system refuses to
    /// start them; with none, [`broadcast`](Self::broadcast) runs its work
    /// on the calling thread alone).
    pub(crate) fn new(helpers: usize) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                work: None,
                round: 0,
                busy: 0,
                panic: None,
                shutdown: false,
            }),
            work: Condvar::new(),
            idle: Condvar::new(),
        });
        let helpers = (0..helpers)
            .map_while(|_| {
                let shared = Arc::clone(&shared);
                thread::Builder::new()
                    .name("rha-hash".into())
                    .spawn(move || helper(&shared))
                    .ok()
            })
            .collect();
        Self { shared, helpers }
    }

    /// Threads that run work, the calling one included.
    pub(crate) fn threads(&self) -> usize {
        self.helpers.len() + 1
    }

    /// Runs `work` on the calling thread and on every helper that is free
    /// to join in while it runs; returns when the calling thread's run has
    /// returned and every helper has left `work`. `work` is expected to
    /// take its tasks from a shared counter until there are none left.
    ///
    /// A panic in `work` on any thread is raised again here, after all
    /// threads have left it.
    pub(crate) fn broadcast(&self, work: &(dyn Fn() + Sync)) {
        if self.helpers.is_empty() {
            return work();
        }
        // SAFETY: only the lifetime is erased. Helpers reach `work` only
        // through `State::work` while it is set; `Withdraw` clears it and
        // waits until no helper is inside it before this function returns
        // or unwinds, so no helper touches `work` after its borrow ends.
        let erased: Work = unsafe { std::mem::transmute::<&(dyn Fn() + Sync), Work>(work) };
        {
            let mut st = self.shared.state.lock();
            st.work = Some(erased);
            st.round = st.round.wrapping_add(1);
        }
        self.shared.work.notify_all();
        let withdraw = Withdraw(&self.shared);
        let mine = panic::catch_unwind(AssertUnwindSafe(work));
        let theirs = withdraw.finish();
        if let Err(p) = mine {
            panic::resume_unwind(p);
        }
        if let Some(p) = theirs {
            panic::resume_unwind(p);
        }
    }

    /// `f(i)` for every `i` in `0..n`, in order, computed on the calling
    /// thread and the helpers.
    pub(crate) fn map<R, F>(&self, n: usize, f: F) -> Vec<R>
    where
        R: Send,
        F: Fn(usize) -> R + Sync,
    {
        let slots: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        self.broadcast(&|| loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = slots.get(i) else { break };
            let r = f(i);
            *slot.lock() = Some(r);
        });
        slots
            .into_iter()
            .map(|s| match s.into_inner() {
                Some(r) => r,
                // `broadcast` returned normally: every task ran.
                None => unreachable!("a task of a finished broadcast did not run"),
            })
            .collect()
    }

    /// Runs `a` and `b`, one of them on a helper if one is free, and
    /// returns both results.
    pub(crate) fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        RA: Send,
        B: FnOnce() -> RB + Send,
        RB: Send,
    {
        let a = Mutex::new(Some(a));
        let b = Mutex::new(Some(b));
        let (ra, rb) = (Mutex::new(None), Mutex::new(None));
        self.broadcast(&|| {
            if let Some(a) = a.lock().take() {
                *ra.lock() = Some(a());
            }
            if let Some(b) = b.lock().take() {
                *rb.lock() = Some(b());
            }
        });
        match (ra.into_inner(), rb.into_inner()) {
            (Some(ra), Some(rb)) => (ra, rb),
            // `broadcast` returned normally: both ran.
            _ => unreachable!("a side of a finished join did not run"),
        }
    }
}

/// Clears the posted work and waits for the helpers to leave it; on drop
/// too, so that an unwinding caller cannot end the borrow early.
struct Withdraw<'a>(&'a Shared);

impl Withdraw<'_> {
    /// Withdraws the work; returns a helper's panic, if any.
    fn finish(self) -> Option<Box<dyn Any + Send>> {
        let p = self.wait();
        std::mem::forget(self);
        p
    }

    fn wait(&self) -> Option<Box<dyn Any + Send>> {
        let mut st = self.0.state.lock();
        st.work = None;
        while st.busy > 0 {
            self.0.idle.wait(&mut st);
        }
        st.panic.take()
    }
}

impl Drop for Withdraw<'_> {
    fn drop(&mut self) {
        // Reached only while unwinding out of `broadcast`; the helper's
        // panic, if any, gives way to the one already under way.
        drop(self.wait());
    }
}

/// A helper's life: run each posted work once, until shutdown.
fn helper(shared: &Shared) {
    let mut seen = 0u64;
    let mut st = shared.state.lock();
    loop {
        if st.shutdown {
            return;
        }
        match st.work {
            Some(work) if st.round != seen => {
                seen = st.round;
                st.busy += 1;
                drop(st);
                let r = panic::catch_unwind(AssertUnwindSafe(work));
                st = shared.state.lock();
                st.busy -= 1;
                if let Err(p) = r {
                    st.panic.get_or_insert(p);
                }
                if st.busy == 0 {
                    shared.idle.notify_all();
                }
            }
            _ => shared.work.wait(&mut st),
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.shared.state.lock().shutdown = true;
        self.shared.work.notify_all();
        for h in self.helpers.drain(..) {
            // Helpers catch the panics of their work; a helper that still
            // panicked has nothing left to report.
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Pool;

    #[test]
    fn results_come_back_in_order() {
        for helpers in [0, 1, 3] {
            let pool = Pool::new(helpers);
            for n in [0, 1, 7, 100] {
                assert_eq!(
                    pool.map(n, |x| x * 10),
                    (0..n).map(|x| x * 10).collect::<Vec<_>>()
                );
            }
        }
    }

    #[test]
    fn join_runs_both_sides() {
        let pool = Pool::new(1);
        let mut left = 0;
        let mut right = 0;
        for _ in 0..50 {
            let (a, b) = pool.join(
                || {
                    left += 1;
                    "a"
                },
                || {
                    right += 2;
                    "b"
                },
            );
            assert_eq!((a, b), ("a", "b"));
        }
        assert_eq!((left, right), (50, 100));
    }

    #[test]
    fn panics_reach_the_caller_and_the_pool_stays_usable() {
        let pool = Pool::new(2);
        for _ in 0..20 {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.map(64, |i| {
                    assert!(i != 37, "task 37 fails");
                    i
                })
            }));
            assert!(r.is_err());
            assert_eq!(pool.map(5, |i| i + 1), vec![1, 2, 3, 4, 5]);
        }
    }

    #[test]
    fn borrowed_data_is_released_before_return() {
        let pool = Pool::new(1);
        for round in 0..200usize {
            let data: Vec<usize> = (0..round).collect();
            let sums = pool.map(round.min(9), |i| data.iter().skip(i).sum::<usize>());
            drop(data);
            assert_eq!(sums.len(), round.min(9));
        }
    }
}
