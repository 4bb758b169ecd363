//! The listening side: a TCP listener whose connections become
//! [`TlsStream`]s only after the client's pinned certificate is accepted.

use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use super::error::TransportError;
use super::fingerprint::Fingerprint;
use super::identity::Identity;
use super::stream::{accept_on, Timeouts, TlsStream};
use super::tls;

/// Listens for TLS connections from pinned peers.
///
/// [`accept`](Self::accept) runs each handshake before it returns, so one
/// client at a time: a silent or slow client holds it for at most
/// [`Timeouts::handshake`].
pub struct Listener {
    tcp: TcpListener,
    local: SocketAddr,
    config: Arc<rustls::ServerConfig>,
    timeouts: Timeouts,
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl Listener {
    /// Listens on `addr` (port 0: any free port, see
    /// [`local_addr`](Self::local_addr)) as `identity`, accepting only
    /// clients whose certificate fingerprint is in `allowed`.
    pub fn bind<A: ToSocketAddrs + fmt::Display>(
        addr: A,
        identity: &Identity,
        allowed: &[Fingerprint],
        timeouts: Timeouts,
    ) -> Result<Self, TransportError> {
        let config = tls::server_config(identity, allowed)?;
        let bind_err = |source| TransportError::Bind {
            addr: addr.to_string(),
            source,
        };
        let tcp = TcpListener::bind(&addr).map_err(bind_err)?;
        let local = tcp.local_addr().map_err(bind_err)?;
        tcp.set_nonblocking(true).map_err(bind_err)?;
        Ok(Self {
            tcp,
            local,
            config,
            timeouts,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Waits for a client and runs the handshake. An error concerns that
    /// one client (refused, not TLS, timed out: the error names its
    /// address) or the listener ([`TransportError::Accept`]); the listener
    /// stays usable after either.
    pub fn accept(&self) -> Result<TlsStream, TransportError> {
        loop {
            if let Some(stream) = self.accept_within(None)? {
                return Ok(stream);
            }
        }
    }

    /// As [`accept`](Self::accept), but gives up with `Ok(None)` when no
    /// client connects within `wait`, so an agent can check for a stop
    /// request between waits. The handshake of a client that did connect
    /// still has [`Timeouts::handshake`].
    pub fn accept_timeout(&self, wait: Duration) -> Result<Option<TlsStream>, TransportError> {
        self.accept_within(Some(wait))
    }

    /// Waits up to `wait` (`None`: for ever) for a connection, then runs
    /// its handshake. The listening socket is non-blocking, so a client
    /// that vanishes between the wake-up and `accept(2)` makes this return
    /// `None` instead of blocking.
    fn accept_within(&self, wait: Option<Duration>) -> Result<Option<TlsStream>, TransportError> {
        let failed = |source: io::Error| TransportError::Accept {
            addr: self.local.to_string(),
            source,
        };
        if !super::wait_ready(&self.tcp, false, wait).map_err(failed)? {
            return Ok(None);
        }
        let (sock, peer) = match self.tcp.accept() {
            Ok(pair) => pair,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                ) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(failed(e)),
        };
        sock.set_nonblocking(false).map_err(failed)?;
        accept_on(sock, peer, Arc::clone(&self.config), &self.timeouts).map(Some)
    }
}
