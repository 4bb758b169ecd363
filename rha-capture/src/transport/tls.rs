//! The rustls configurations of both sides: TLS 1.3 only, the ring
//! provider's cipher suites and key exchange groups, our identity's
//! certificate, pinned peers, and no session resumption (every connection
//! runs a full handshake with both certificates checked).
//!
//! The server sends one TLS 1.3 NewSessionTicket after it has checked the
//! client's certificate and Finished message; the client waits for it
//! before [`connect`](super::connect) returns, so a client the server
//! refuses learns it from `connect`, not from its first read. The ticket
//! is never stored on either side and never used to resume.

use std::sync::Arc;

use rustls::client::Resumption;
use rustls::crypto::CryptoProvider;
use rustls::server::StoresServerSessions;
use rustls::{ClientConfig, ServerConfig};

use super::error::TransportError;
use super::fingerprint::Fingerprint;
use super::identity::Identity;
use super::verify::PinnedPeers;

/// The crypto provider: ring.
///
/// rustls 0.23.48 deprecates ring's provider because it has no
/// post-quantum key exchange (X25519MLKEM768 needs aws-lc-rs). ring is
/// kept for a lean build (aws-lc-rs is a long C and cmake build); the key
/// exchange is X25519 (or P-256/P-384). Moving to aws-lc-rs is a change
/// of this function and the dependency's features.
#[allow(deprecated)]
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config_err(e: impl std::fmt::Display) -> TransportError {
    TransportError::Config {
        reason: e.to_string(),
    }
}

/// The client side's configuration.
pub(crate) fn client_config(
    identity: &Identity,
    allowed: &[Fingerprint],
) -> Result<Arc<ClientConfig>, TransportError> {
    if allowed.is_empty() {
        return Err(TransportError::NoPeers);
    }
    let provider = provider();
    let key = identity.certified_key(&provider).map_err(config_err)?;
    let verifier = Arc::new(PinnedPeers::new(allowed, Arc::clone(&provider)));
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(config_err)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(key)));
    config.resumption = Resumption::disabled();
    config.enable_sni = false;
    Ok(Arc::new(config))
}

/// The server side's configuration.
pub(crate) fn server_config(
    identity: &Identity,
    allowed: &[Fingerprint],
) -> Result<Arc<ServerConfig>, TransportError> {
    if allowed.is_empty() {
        return Err(TransportError::NoPeers);
    }
    let provider = provider();
    let key = identity.certified_key(&provider).map_err(config_err)?;
    let verifier = Arc::new(PinnedPeers::new(allowed, Arc::clone(&provider)));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(config_err)?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(key)));
    config.session_storage = Arc::new(AcceptanceOnly);
    config.send_tls13_tickets = 1;
    Ok(Arc::new(config))
}

/// A session store that lets the server send its ticket (the signal that
/// it accepted the client) but remembers nothing, so nothing resumes.
#[derive(Debug)]
struct AcceptanceOnly;

impl StoresServerSessions for AcceptanceOnly {
    fn put(&self, _key: Vec<u8>, _value: Vec<u8>) -> bool {
        true
    }

    fn get(&self, _key: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn take(&self, _key: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn can_cache(&self) -> bool {
        true
    }
}
