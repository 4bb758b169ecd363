//! A TLS connection to a pinned peer, blocking, with timeouts: opening one
//! ([`connect`]), the handshake both sides share, and the stream itself.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::ops::DerefMut;
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, ConnectionCommon, ServerConnection, SideData, StreamOwned};

use super::error::{Phase, TransportError};
use super::fingerprint::Fingerprint;
use super::identity::Identity;
use super::tls;

/// How long each step of a connection may take.
///
/// ```
/// use std::time::Duration;
/// use rha_capture::transport::Timeouts;
///
/// let t = Timeouts { read: Some(Duration::from_millis(200)), ..Timeouts::default() };
/// assert_eq!(t.handshake, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Opening the TCP connection, per resolved address [10 s].
    pub connect: Duration,
    /// The whole TLS handshake, however the peer trickles its bytes
    /// [10 s]. For [`Listener::accept`](super::Listener::accept) this
    /// bounds how long one silent or slow client can hold it.
    pub handshake: Duration,
    /// The stream's read timeout once connected [none: reads block]. A
    /// read that times out fails with an error for which [`is_timeout`]
    /// is true, and the stream stays usable.
    pub read: Option<Duration>,
    /// The stream's write timeout once connected [30 s]: a peer that stops
    /// reading makes writes fail instead of blocking for ever.
    pub write: Option<Duration>,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            handshake: Duration::from_secs(10),
            read: None,
            write: Some(Duration::from_secs(30)),
        }
    }
}

/// Whether an I/O error from a [`TlsStream`] read or write is a timeout
/// (the stream stays usable) rather than a failure of the connection.
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

enum Side {
    Client(StreamOwned<ClientConnection, TcpStream>),
    Server(StreamOwned<ServerConnection, TcpStream>),
}

/// An established TLS 1.3 connection with a peer whose certificate
/// fingerprint was allowed: plaintext in and out through [`Read`] and
/// [`Write`].
///
/// Meant for one thread: the agent's loop reads with a read timeout
/// ([`Timeouts::read`], [`set_read_timeout`](Self::set_read_timeout)),
/// drives its timers when a read times out, and writes from the same
/// thread. There is no split into halves. A write is sent at once when the
/// socket takes it; [`flush`](Write::flush) makes sure all of it was sent
/// (or fails, e.g. with the write timeout).
///
/// [`shutdown`](Self::shutdown) ends the connection cleanly with a TLS
/// close_notify; a read then returns 0 on the peer's side. A peer that
/// closes without close_notify makes a read fail with
/// [`io::ErrorKind::UnexpectedEof`]: the data may have been cut short.
pub struct TlsStream {
    side: Side,
    peer: Fingerprint,
    peer_addr: SocketAddr,
}

impl fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsStream")
            .field("peer", &self.peer)
            .field("peer_addr", &self.peer_addr)
            .finish_non_exhaustive()
    }
}

macro_rules! both {
    ($self:expr, $s:ident => $e:expr) => {
        match $self {
            Side::Client($s) => $e,
            Side::Server($s) => $e,
        }
    };
}

impl TlsStream {
    /// The fingerprint of the certificate the peer presented (one of the
    /// allowed ones).
    pub fn peer_fingerprint(&self) -> Fingerprint {
        self.peer
    }

    /// The peer's socket address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer_addr
    }

    /// Sets the read timeout (`None`: reads block until data or the end).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        both!(&self.side, s => s.sock.set_read_timeout(timeout))
    }

    /// Sets the write timeout (`None`: writes block until sent).
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        both!(&self.side, s => s.sock.set_write_timeout(timeout))
    }

    /// Ends the connection cleanly: sends a TLS close_notify, flushes it
    /// and shuts the socket down for writing. Reading what the peer still
    /// sends remains possible until it closes too.
    pub fn shutdown(&mut self) -> io::Result<()> {
        both!(&mut self.side, s => {
            s.conn.send_close_notify();
            send_pending(&mut s.conn, &mut s.sock)?;
            s.sock.shutdown(Shutdown::Write)
        })
    }
}

impl TlsStream {
    /// Puts the socket in non-blocking mode (or back): reads and writes
    /// then fail with `WouldBlock` instead of waiting, and a caller waits
    /// on the descriptor ([`AsFd`](std::os::fd::AsFd)) with `poll(2)`. Decrypted bytes
    /// already buffered are returned by `read` before it reports
    /// `WouldBlock`.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        both!(&self.side, s => s.sock.set_nonblocking(on))
    }
}

impl std::os::fd::AsFd for TlsStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        both!(&self.side, s => s.sock.as_fd())
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        both!(&mut self.side, s => s.read(buf))
    }
}

impl Write for TlsStream {
    /// Hands `buf` to rustls (after sending what earlier writes left) and
    /// tries to send it at once. Bytes accepted are never lost to a send
    /// that fails here: that failure shows on the next `write` or
    /// [`flush`](Write::flush).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        both!(&mut self.side, s => {
            send_pending(&mut s.conn, &mut s.sock)?;
            let n = s.conn.writer().write(buf)?;
            let _ = send_pending(&mut s.conn, &mut s.sock);
            Ok(n)
        })
    }

    /// Sends everything written so far, or fails (with the write timeout
    /// among others).
    fn flush(&mut self) -> io::Result<()> {
        both!(&mut self.side, s => send_pending(&mut s.conn, &mut s.sock))
    }
}

/// Writes the TLS records rustls has ready.
fn send_pending<C, S>(conn: &mut C, sock: &mut TcpStream) -> io::Result<()>
where
    C: DerefMut<Target = ConnectionCommon<S>>,
    S: SideData,
{
    while conn.wants_write() {
        if conn.write_tls(sock)? == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
    }
    Ok(())
}

/// Drives the handshake of `conn` over `sock` until `done`, within
/// `timeout`. On a TLS error, sends the alert rustls queued so the peer
/// learns why.
fn handshake<C, S>(
    conn: &mut C,
    sock: &mut TcpStream,
    addr: &str,
    timeout: Duration,
    done: impl Fn(&C) -> bool,
) -> Result<(), TransportError>
where
    C: DerefMut<Target = ConnectionCommon<S>>,
    S: SideData,
{
    let deadline = Instant::now() + timeout;
    let timed_out = || TransportError::Timeout {
        addr: addr.to_owned(),
        phase: Phase::Handshake,
        after: timeout,
    };
    while !done(conn) {
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(timed_out)?;
        let set = sock
            .set_read_timeout(Some(left))
            .and_then(|()| sock.set_write_timeout(Some(left)));
        set.map_err(|e| TransportError::from_io(addr, e))?;
        let step = if conn.wants_write() {
            conn.write_tls(sock).map(|_| ())
        } else {
            match conn.read_tls(sock) {
                Ok(0) => {
                    return Err(TransportError::Closed {
                        addr: addr.to_owned(),
                    })
                }
                Ok(_) => match conn.process_new_packets() {
                    Ok(_) => Ok(()),
                    Err(e) => {
                        // The alert for the peer, on a best-effort basis.
                        let _ = sock.set_write_timeout(Some(Duration::from_millis(500)));
                        while conn.wants_write() {
                            if !matches!(conn.write_tls(sock), Ok(n) if n > 0) {
                                break;
                            }
                        }
                        return Err(TransportError::from_tls(addr, &e));
                    }
                },
                Err(e) => Err(e),
            }
        };
        match step {
            Ok(()) => {}
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(TransportError::from_io(addr, e)),
        }
    }
    Ok(())
}

/// Sets the stream's timeouts for after the handshake.
fn settle(sock: &TcpStream, timeouts: &Timeouts, addr: &str) -> Result<(), TransportError> {
    sock.set_read_timeout(timeouts.read)
        .and_then(|()| sock.set_write_timeout(timeouts.write))
        .map_err(|e| TransportError::from_io(addr, e))
}

/// The peer's fingerprint after a successful handshake.
fn peer_of<S: SideData>(
    conn: &ConnectionCommon<S>,
    addr: &str,
) -> Result<Fingerprint, TransportError> {
    conn.peer_certificates()
        .and_then(|certs| certs.first())
        .map(|c| Fingerprint::of(c))
        .ok_or_else(|| TransportError::Handshake {
            addr: addr.to_owned(),
            reason: "the peer presented no certificate".to_owned(),
        })
}

/// Opens a TCP connection to `addr` (each resolved address in turn, each
/// within `timeouts.connect`), runs the TLS 1.3 handshake with `identity`
/// and accepts the server only if its certificate's fingerprint is in
/// `allowed`. Returns once the server has accepted our certificate too
/// (see the module docs of `transport`), so a refusal is an error here.
///
/// The whole handshake is bounded by `timeouts.handshake`; the stream then
/// has `timeouts.read` and `timeouts.write`. TCP_NODELAY is set.
pub fn connect<A: ToSocketAddrs + fmt::Display>(
    addr: A,
    identity: &Identity,
    allowed: &[Fingerprint],
    timeouts: &Timeouts,
) -> Result<TlsStream, TransportError> {
    let config = tls::client_config(identity, allowed)?;
    let shown = addr.to_string();
    let resolved = addr
        .to_socket_addrs()
        .map_err(|source| TransportError::Connect {
            addr: shown.clone(),
            source,
        })?;
    let mut last = None;
    let mut sock = None;
    for candidate in resolved {
        match TcpStream::connect_timeout(&candidate, timeouts.connect) {
            Ok(s) => {
                sock = Some((s, candidate));
                break;
            }
            Err(e) => last = Some(e),
        }
    }
    let (mut sock, peer_addr) = match (sock, last) {
        (Some(s), _) => s,
        (None, Some(e)) if is_timeout(&e) => {
            return Err(TransportError::Timeout {
                addr: shown,
                phase: Phase::Connect,
                after: timeouts.connect,
            })
        }
        (None, e) => {
            return Err(TransportError::Connect {
                addr: shown,
                source: e.unwrap_or_else(|| io::Error::other("the address resolved to nothing")),
            })
        }
    };
    sock.set_nodelay(true)
        .map_err(|e| TransportError::from_io(&shown, e))?;
    let name = ServerName::IpAddress(peer_addr.ip().into());
    let mut conn =
        ClientConnection::new(config, name).map_err(|e| TransportError::from_tls(&shown, &e))?;
    handshake(&mut conn, &mut sock, &shown, timeouts.handshake, |c| {
        !c.is_handshaking() && !c.wants_write() && c.tls13_tickets_received() > 0
    })?;
    let peer = peer_of(&conn, &shown)?;
    settle(&sock, timeouts, &shown)?;
    Ok(TlsStream {
        side: Side::Client(StreamOwned::new(conn, sock)),
        peer,
        peer_addr,
    })
}

/// Runs the server side of the handshake on an accepted socket.
pub(crate) fn accept_on(
    mut sock: TcpStream,
    peer_addr: SocketAddr,
    config: std::sync::Arc<rustls::ServerConfig>,
    timeouts: &Timeouts,
) -> Result<TlsStream, TransportError> {
    let shown = peer_addr.to_string();
    sock.set_nodelay(true)
        .map_err(|e| TransportError::from_io(&shown, e))?;
    let mut conn =
        ServerConnection::new(config).map_err(|e| TransportError::from_tls(&shown, &e))?;
    handshake(&mut conn, &mut sock, &shown, timeouts.handshake, |c| {
        !c.is_handshaking() && !c.wants_write()
    })?;
    let peer = peer_of(&conn, &shown)?;
    settle(&sock, timeouts, &shown)?;
    Ok(TlsStream {
        side: Side::Server(StreamOwned::new(conn, sock)),
        peer,
        peer_addr,
    })
}
