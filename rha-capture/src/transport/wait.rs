//! Waiting for a socket with a timeout, for the listener and the agents.

use std::io;
use std::os::fd::AsFd;
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};

/// Waits until `fd` is readable (or, with `write`, writable), at most
/// `timeout` (`None`: without limit); `Ok(false)` when the time ran out or
/// a signal interrupted the wait.
pub(crate) fn wait_ready(
    fd: &impl AsFd,
    write: bool,
    timeout: Option<Duration>,
) -> io::Result<bool> {
    let flags = if write { PollFlags::OUT } else { PollFlags::IN };
    let timeout = timeout.map(|t| Timespec {
        tv_sec: i64::try_from(t.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: t.subsec_nanos().into(),
    });
    let mut fds = [PollFd::new(fd, flags)];
    match poll(&mut fds, timeout.as_ref()) {
        Ok(n) => Ok(n > 0),
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
