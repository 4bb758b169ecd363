//! One session over one link: reading, writing and the session's timers.

use std::io;
use std::time::Duration;

use rha_core::ha::Instant;
use rha_core::session::{Reason, Session, SessionConfig};

use super::link::{self, Link};
use super::wake::Waker;

/// The agents' clock: nanoseconds since the agent started, on the
/// monotonic clock, as the session counts time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    origin: std::time::Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Self {
            origin: std::time::Instant::now(),
        }
    }

    pub(crate) fn now(&self) -> Instant {
        Instant::from_nanos(u64::try_from(self.origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEnd {
    /// A close message was sent or received.
    Closed {
        /// Why.
        reason: Reason,
        /// Details.
        text: String,
        /// The peer ended it.
        by_peer: bool,
    },
    /// The link failed or the peer went away without a close message.
    LinkLost(String),
}

impl std::fmt::Display for SessionEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionEnd::Closed {
                reason,
                text,
                by_peer,
            } => {
                let by = if *by_peer { "the peer" } else { "this side" };
                write!(f, "closed by {by} ({reason:?}): {text}")
            }
            SessionEnd::LinkLost(why) => write!(f, "link lost: {why}"),
        }
    }
}

/// Bytes read from the link at once.
const READ_BUF: usize = 256 << 10;

/// Bytes taken from the link in one turn at most, so that the agent acts
/// on what arrived (stores it, acknowledges it) before it reads more.
const MAX_TURN_BYTES: usize = 8 << 20;

/// A session and the link it runs over.
pub(crate) struct Conn<L: Link> {
    link: L,
    pub(crate) session: Session,
    clock: Clock,
    buf: Vec<u8>,
    write_timeout: Duration,
    /// Set once the link failed.
    lost: Option<String>,
    /// Ends a [`turn`](Self::turn)'s wait early when signalled.
    waker: Option<std::sync::Arc<Waker>>,
}

impl<L: Link> Conn<L> {
    /// Starts a session over `link` (which is put in non-blocking mode).
    pub(crate) fn new(mut link: L, config: SessionConfig, clock: Clock) -> io::Result<Self> {
        link.set_nonblocking(true)?;
        let write_timeout = config.timeout;
        let session = Session::new(config, clock.now());
        Ok(Self {
            link,
            session,
            clock,
            buf: vec![0; READ_BUF],
            write_timeout,
            lost: None,
            waker: None,
        })
    }

    /// Lets `waker` end a [`turn`](Self::turn)'s wait: another thread
    /// signals it when the agent has something new to send or acknowledge.
    pub(crate) fn set_waker(&mut self, waker: std::sync::Arc<Waker>) {
        self.waker = Some(waker);
    }

    /// The peer's name as the link knows it.
    pub(crate) fn peer_name(&self) -> String {
        self.link.peer_name()
    }

    /// Sends everything the session queued.
    pub(crate) fn flush(&mut self) {
        if self.lost.is_some() {
            return;
        }
        let out = self.session.take_output();
        if out.is_empty() {
            return;
        }
        if let Err(e) = link::write_all(&mut self.link, &out, self.write_timeout) {
            self.lose(format!("sending to {}: {e}", self.link.peer_name()));
        }
    }

    /// Reads what the peer sent, waiting at most `wait` (less if a timer
    /// of the session is due sooner, or the waker is signalled), and runs
    /// the session's timers.
    pub(crate) fn turn(&mut self, wait: Duration) {
        if self.lost.is_some() {
            return;
        }
        let now = self.clock.now();
        let wait = match self.session.poll_timeout() {
            Some(at) => wait.min(at.saturating_duration_since(now)),
            None => wait,
        };
        let mut waited = false;
        let mut taken = 0;
        while taken < MAX_TURN_BYTES {
            match self.link.read(&mut self.buf) {
                Ok(0) => {
                    if !self.session.is_closed() {
                        self.lose(format!(
                            "{} closed the connection without a close message",
                            self.link.peer_name()
                        ));
                    }
                    break;
                }
                Ok(n) => {
                    taken += n;
                    self.session.receive(&self.buf[..n], self.clock.now());
                    if self.session.is_closed() {
                        break;
                    }
                    // Take what else is there without waiting.
                    waited = true;
                }
                Err(e) if link::would_block(&e) => {
                    if waited || wait.is_zero() {
                        break;
                    }
                    waited = true;
                    let ready = match &self.waker {
                        Some(w) => {
                            let r = link::wait_for_or(&self.link, &**w, wait);
                            w.drain();
                            r
                        }
                        None => link::wait_for(&self.link, false, wait),
                    };
                    match ready {
                        Ok(true) => continue,
                        Ok(false) => break,
                        Err(e) => {
                            self.lose(format!("waiting for {}: {e}", self.link.peer_name()));
                            break;
                        }
                    }
                }
                Err(e) => {
                    self.lose(format!("reading from {}: {e}", self.link.peer_name()));
                    break;
                }
            }
        }
        let now = self.clock.now();
        if self.session.poll_timeout().is_some_and(|at| at <= now) {
            self.session.handle_timeout(now);
        }
    }

    fn lose(&mut self, why: String) {
        tracing::warn!(why, "link lost");
        self.lost = Some(why);
    }

    /// The reason the link failed, once it has.
    pub(crate) fn lost(&self) -> Option<&str> {
        self.lost.as_deref()
    }

    /// Sends what is queued (a close), then ends the link.
    pub(crate) fn finish(mut self) {
        self.flush();
        let _ = self.link.shutdown();
    }
}
