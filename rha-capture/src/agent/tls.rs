//! The agents over rha's own TLS transport: the identities they derive
//! from certificates, a connector for the master, and a server that runs
//! a replica agent behind a listener.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use rha_core::session::{NodeId, ScenarioId};
use sha2::{Digest, Sha256};

use super::error::AgentError;
use super::master::Connector;
use super::replica::ReplicaAgent;
use super::status::AgentStatus;
use crate::transport::{connect, Fingerprint, Identity, Listener, Timeouts, TlsStream};

/// A scenario's 16-byte identity: the first bytes of SHA-256 over
/// `"rha scenario\0"` and its name, or, without a name, the master's and
/// the replica's fingerprints (in their text form, joined by a NUL).
pub fn scenario_id(name: Option<&str>, master: &Fingerprint, replica: &Fingerprint) -> ScenarioId {
    let mut h = Sha256::new();
    h.update(b"rha scenario\0");
    match name {
        Some(n) => h.update(n.as_bytes()),
        None => {
            h.update(master.to_string().as_bytes());
            h.update(b"\0");
            h.update(replica.to_string().as_bytes());
        }
    }
    let digest = h.finalize();
    let mut id = [0; 16];
    id.copy_from_slice(&digest[..16]);
    id
}

/// A node's identity in the session: its certificate fingerprint's first
/// 16 bytes.
pub fn node_id(fp: &Fingerprint) -> NodeId {
    let mut id = [0; 16];
    id.copy_from_slice(&fp.as_bytes()[..16]);
    id
}

/// A master's [`Connector`] to a replica at `addr` over TLS, as `identity`,
/// accepting only the replica whose fingerprint is `peer`.
pub fn tls_connector(
    addr: String,
    identity: Identity,
    peer: Fingerprint,
    timeouts: Timeouts,
) -> impl Connector<Link = TlsStream> {
    move || connect(addr.as_str(), &identity, &[peer], &timeouts).map_err(std::io::Error::other)
}

/// A replica agent serving the masters a [`Listener`] accepts, one session
/// at a time, on a thread of its own.
#[derive(Debug)]
pub struct ReplicaServer {
    agent: Arc<ReplicaAgent>,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ReplicaServer {
    /// Serves `agent` behind `listener` until [`stop`](Self::stop). A
    /// client refused in its handshake (a stranger, not TLS) is logged
    /// and the server goes on.
    pub fn start(agent: ReplicaAgent, listener: Listener) -> Result<Self, AgentError> {
        let agent = Arc::new(agent);
        let addr = listener.local_addr();
        let stop = Arc::new(AtomicBool::new(false));
        let path = agent.state_dir().to_path_buf();
        let thread = {
            let agent = agent.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("rha-serve".to_owned())
                .spawn(move || serve_loop(&agent, &listener, &stop))
                .map_err(|source| AgentError::Io { path, source })?
        };
        Ok(Self {
            agent,
            addr,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A snapshot of the agent's state.
    pub fn status(&self) -> AgentStatus {
        self.agent.status()
    }

    /// The agent served.
    pub fn agent(&self) -> &ReplicaAgent {
        &self.agent
    }

    /// Ends the session under way in order, stops listening and applying,
    /// and returns the final status.
    pub fn stop(mut self) -> Result<AgentStatus, AgentError> {
        self.halt()?;
        let agent = self.agent.clone();
        drop(self);
        match Arc::try_unwrap(agent) {
            Ok(agent) => agent.stop(),
            Err(agent) => Ok(agent.status()),
        }
    }

    fn halt(&mut self) -> Result<(), AgentError> {
        self.stop.store(true, Ordering::SeqCst);
        self.agent.request_stop();
        if let Some(t) = self.thread.take() {
            t.join().map_err(|_| AgentError::Panicked("serve"))?;
        }
        Ok(())
    }
}

impl Drop for ReplicaServer {
    fn drop(&mut self) {
        let _ = self.halt();
    }
}

fn serve_loop(agent: &ReplicaAgent, listener: &Listener, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let link = match listener.accept_timeout(Duration::from_millis(100)) {
            Ok(Some(l)) => l,
            Ok(None) => continue,
            Err(e) => {
                tracing::warn!(%e, "connection refused");
                continue;
            }
        };
        tracing::info!(peer = %link.peer_fingerprint(), "master connected");
        // An error concerns this link alone (it could not be set up):
        // log it and serve the next master.
        match agent.serve(link) {
            Ok(end) => tracing::info!(%end, "session over"),
            Err(e) => tracing::error!(%e, "session not served"),
        }
    }
}
