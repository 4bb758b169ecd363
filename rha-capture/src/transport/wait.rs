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
    let mut fds = [PollFd::new(fd, flags)];
    match poll(&mut fds, timespec(timeout).as_ref()) {
        Ok(n) => Ok(n > 0),
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Waits until `fd` is readable or `also` is, at most `timeout`; says
/// whether `fd` is readable (`false` when only `also` is, or the time ran
/// out).
pub(crate) fn wait_readable_or(
    fd: &impl AsFd,
    also: &impl AsFd,
    timeout: Duration,
) -> io::Result<bool> {
    let mut fds = [
        PollFd::new(fd, PollFlags::IN),
        PollFd::new(also, PollFlags::IN),
    ];
    match poll(&mut fds, timespec(Some(timeout)).as_ref()) {
        Ok(_) => Ok(!fds[0].revents().is_empty()),
        Err(rustix::io::Errno::INTR) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn timespec(timeout: Option<Duration>) -> Option<Timespec> {
    timeout.map(|t| Timespec {
        tv_sec: i64::try_from(t.as_secs()).unwrap_or(i64::MAX),
        tv_nsec: t.subsec_nanos().into(),
    })
}
