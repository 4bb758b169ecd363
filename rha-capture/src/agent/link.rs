//! The byte stream a session runs over, and waiting on it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// A connected, reliable byte stream in both directions: rha's TLS
/// transport, or whatever an embedder brings (a test uses a socket pair).
///
/// The agents drive a session from one thread with the stream in
/// non-blocking mode: they wait for it with `poll(2)` on its descriptor,
/// so that timers and the spool are served while the peer is quiet, and
/// a peer that stops reading ends the session after the timeout instead
/// of blocking it forever. A stream that buffers decrypted bytes (TLS)
/// must return them from `read` before it reports `WouldBlock`.
pub trait Link: Read + Write + AsFd + Send {
    /// Puts the stream in non-blocking mode (or back).
    fn set_nonblocking(&mut self, on: bool) -> io::Result<()>;
    /// Ends the stream in both directions (an orderly end where the
    /// stream has one, such as TLS's close_notify).
    fn shutdown(&mut self) -> io::Result<()>;
    /// The peer's name, for logs and status.
    fn peer_name(&self) -> String;
}

impl Link for TcpStream {
    fn set_nonblocking(&mut self, on: bool) -> io::Result<()> {
        TcpStream::set_nonblocking(self, on)
    }
    fn shutdown(&mut self) -> io::Result<()> {
        TcpStream::shutdown(self, Shutdown::Both)
    }
    fn peer_name(&self) -> String {
        self.peer_addr()
            .map_or_else(|_| "(unknown)".to_owned(), |a| a.to_string())
    }
}

impl Link for UnixStream {
    fn set_nonblocking(&mut self, on: bool) -> io::Result<()> {
        UnixStream::set_nonblocking(self, on)
    }
    fn shutdown(&mut self) -> io::Result<()> {
        UnixStream::shutdown(self, Shutdown::Both)
    }
    fn peer_name(&self) -> String {
        "(local socket)".to_owned()
    }
}

impl Link for crate::transport::TlsStream {
    fn set_nonblocking(&mut self, on: bool) -> io::Result<()> {
        crate::transport::TlsStream::set_nonblocking(self, on)
    }
    fn shutdown(&mut self) -> io::Result<()> {
        crate::transport::TlsStream::shutdown(self)
    }
    fn peer_name(&self) -> String {
        format!("{} ({})", self.peer_addr(), self.peer_fingerprint())
    }
}

/// Whether an error only means "not now".
pub(crate) fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

/// Waits at most `timeout` until `fd` is readable (or, with `write`,
/// writable); `Ok(false)` when the time ran out.
pub(crate) fn wait_for(fd: &impl AsFd, write: bool, timeout: Duration) -> io::Result<bool> {
    crate::transport::wait_ready(fd, write, Some(timeout))
}

/// Waits at most `timeout` until `fd` is readable or `waker` was
/// signalled; says whether `fd` is readable.
pub(crate) fn wait_for_or(
    fd: &impl AsFd,
    waker: &impl AsFd,
    timeout: Duration,
) -> io::Result<bool> {
    crate::transport::wait_readable_or(fd, waker, timeout)
}

/// Writes all of `buf` to a non-blocking link and flushes it, failing
/// with `TimedOut` if the peer takes nothing for `timeout`.
pub(crate) fn write_all(link: &mut impl Link, mut buf: &[u8], timeout: Duration) -> io::Result<()> {
    let mut stalled_since: Option<Instant> = None;
    while !buf.is_empty() {
        match link.write(buf) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the link took no bytes",
                ))
            }
            Ok(n) => {
                buf = &buf[n..];
                stalled_since = None;
            }
            Err(e) if would_block(&e) => stalled(link, &mut stalled_since, timeout)?,
            Err(e) => return Err(e),
        }
    }
    loop {
        match link.flush() {
            Ok(()) => return Ok(()),
            Err(e) if would_block(&e) => stalled(link, &mut stalled_since, timeout)?,
            Err(e) => return Err(e),
        }
    }
}

/// Waits for room to write, or fails once the peer has taken nothing for
/// `timeout`.
fn stalled(link: &impl Link, since: &mut Option<Instant>, timeout: Duration) -> io::Result<()> {
    let since = *since.get_or_insert_with(Instant::now);
    let left = timeout.saturating_sub(since.elapsed());
    if left.is_zero() {
        return Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "the peer took no data for {} s (it stopped reading)",
                timeout.as_secs_f64()
            ),
        ));
    }
    wait_for(link, true, left).map(|_| ())
}
