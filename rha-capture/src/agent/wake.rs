//! Waking an agent's session thread from another thread: an `eventfd`
//! polled beside the link, signalled when the spool has something new for
//! the session (records made durable, to send or to acknowledge).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rha_core::spool::Spool;
use rustix::event::{eventfd, EventfdFlags};

/// An `eventfd` in non-blocking mode: [`signal`](Self::signal) makes it
/// readable until [`drain`](Self::drain).
#[derive(Debug)]
pub(crate) struct Waker {
    fd: OwnedFd,
}

impl Waker {
    pub(crate) fn new() -> io::Result<Self> {
        let fd = eventfd(0, EventfdFlags::NONBLOCK | EventfdFlags::CLOEXEC)?;
        Ok(Self { fd })
    }

    /// Wakes the thread polling this waker (or its next poll).
    pub(crate) fn signal(&self) {
        // Fails only when the counter would overflow, which leaves the
        // waker readable anyway.
        let _ = rustix::io::write(&self.fd, &1u64.to_ne_bytes());
    }

    /// Clears the signals received so far.
    pub(crate) fn drain(&self) {
        let mut buf = [0u8; 8];
        let _ = rustix::io::read(&self.fd, &mut buf);
    }
}

impl AsFd for Waker {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// The longest the watch waits before it looks whether to stop (which
/// the session's end waits for).
const WATCH_STEP: Duration = Duration::from_millis(5);

/// A thread that signals a [`Waker`] whenever more of a spool becomes
/// durable, so that a master sends new records at once instead of at its
/// next look. Stops when dropped.
#[derive(Debug)]
pub(crate) struct DurableWatch {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DurableWatch {
    pub(crate) fn start(spool: Arc<Spool>, waker: Arc<Waker>) -> io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("rha-master-watch".into())
                .spawn(move || {
                    let mut seen = spool.usage().durable_next_seq;
                    while !stop.load(Ordering::Relaxed) {
                        let started = std::time::Instant::now();
                        let now = spool.wait_durable(seen, WATCH_STEP);
                        if now > seen {
                            seen = now;
                            waker.signal();
                        } else if now < seen {
                            // The spool started a new sequence.
                            seen = now;
                        } else if started.elapsed() < WATCH_STEP {
                            // A failed spool returns at once (the session
                            // reports why): do not spin.
                            std::thread::sleep(WATCH_STEP);
                        }
                    }
                })?
        };
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for DurableWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
