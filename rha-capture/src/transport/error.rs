//! Why a connection could not be made or accepted.

use std::fmt;
use std::io;
use std::time::Duration;

use rustls::{AlertDescription, CertificateError, Error as TlsError, OtherError};

use super::fingerprint::Fingerprint;
use super::verify::NotAllowed;

/// Where a connection was when it timed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Opening the TCP connection.
    Connect,
    /// In the TLS handshake (for a client: until the server has accepted
    /// its certificate).
    Handshake,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Connect => "connecting",
            Phase::Handshake => "in the TLS handshake",
        })
    }
}

/// Why a connection could not be made, accepted or listened for. Every
/// message names the address it concerns (for an accepted connection, the
/// remote address).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The address did not resolve, or no TCP connection could be opened.
    #[error("{addr}: cannot connect: {source}")]
    Connect {
        /// The address.
        addr: String,
        /// The reason.
        source: io::Error,
    },
    /// The listening socket could not be opened.
    #[error("{addr}: cannot listen: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The reason.
        source: io::Error,
    },
    /// Accepting a TCP connection failed.
    #[error("{addr}: cannot accept a connection: {source}")]
    Accept {
        /// The listening address.
        addr: String,
        /// The reason.
        source: io::Error,
    },
    /// The peer did not complete its part in time.
    #[error("{addr}: timed out after {after:?} {phase}")]
    Timeout {
        /// The address.
        addr: String,
        /// What was under way.
        phase: Phase,
        /// The timeout that passed.
        after: Duration,
    },
    /// The peer's certificate is not one of the allowed fingerprints.
    #[error("{addr}: the peer presented certificate {presented}, which is not among the allowed fingerprints")]
    NotAllowed {
        /// The address.
        addr: String,
        /// The fingerprint of the certificate the peer presented.
        presented: Fingerprint,
    },
    /// The peer's certificate is pinned but unusable now: expired, not
    /// valid yet, badly encoded or badly signed.
    #[error("{addr}: the peer's certificate is refused: {reason}")]
    BadCertificate {
        /// The address.
        addr: String,
        /// What is wrong with it (contains "expired" for an expired one).
        reason: String,
    },
    /// The peer ended the handshake with a TLS alert: usually it does not
    /// accept our certificate.
    #[error("{addr}: the peer refused the connection: TLS alert \"{alert}\"{hint}", hint = alert_hint(alert))]
    Refused {
        /// The address.
        addr: String,
        /// The alert, in words ("bad certificate", "certificate expired").
        alert: String,
    },
    /// What arrived is not TLS (a plain-text protocol, random bytes).
    #[error("{addr}: the peer does not speak TLS: {reason}")]
    NotTls {
        /// The address.
        addr: String,
        /// What rustls found.
        reason: String,
    },
    /// The peer closed the connection before the handshake ended.
    #[error("{addr}: the peer closed the connection during the TLS handshake")]
    Closed {
        /// The address.
        addr: String,
    },
    /// Any other TLS failure in the handshake.
    #[error("{addr}: TLS handshake failed: {reason}")]
    Handshake {
        /// The address.
        addr: String,
        /// What rustls said.
        reason: String,
    },
    /// The socket failed during the handshake.
    #[error("{addr}: {source}")]
    Io {
        /// The address.
        addr: String,
        /// The reason.
        source: io::Error,
    },
    /// No peer fingerprint was given: nobody could ever be accepted.
    #[error("no peer fingerprint is allowed; give at least one")]
    NoPeers,
    /// The identity could not be turned into a TLS configuration.
    #[error("cannot configure TLS: {reason}")]
    Config {
        /// What rustls said.
        reason: String,
    },
}

/// A hint after an alert that usually means our certificate was refused.
fn alert_hint(alert: &str) -> &'static str {
    match alert {
        "bad certificate"
        | "certificate unknown"
        | "certificate expired"
        | "unsupported certificate"
        | "access denied"
        | "certificate required" => {
            " (does the peer allow our fingerprint, and is our certificate valid?)"
        }
        _ => "",
    }
}

/// An alert in lowercase words: `CertificateExpired` → "certificate expired".
fn alert_words(alert: AlertDescription) -> String {
    let name = format!("{alert:?}");
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

impl TransportError {
    /// The error for a TLS failure in the handshake with `addr`.
    pub(crate) fn from_tls(addr: &str, e: &TlsError) -> Self {
        let addr = addr.to_owned();
        match e {
            TlsError::InvalidCertificate(CertificateError::Other(OtherError(inner))) => {
                match inner.downcast_ref::<NotAllowed>() {
                    Some(n) => Self::NotAllowed {
                        addr,
                        presented: n.presented,
                    },
                    None => Self::BadCertificate {
                        addr,
                        reason: inner.to_string(),
                    },
                }
            }
            TlsError::InvalidCertificate(c) => Self::BadCertificate {
                addr,
                reason: TlsError::InvalidCertificate(c.clone()).to_string(),
            },
            TlsError::AlertReceived(alert) => Self::Refused {
                addr,
                alert: alert_words(*alert),
            },
            TlsError::InvalidMessage(_) | TlsError::InappropriateMessage { .. } => Self::NotTls {
                addr,
                reason: e.to_string(),
            },
            _ => Self::Handshake {
                addr,
                reason: e.to_string(),
            },
        }
    }

    /// The error for a socket failure in the handshake with `addr`: a
    /// rustls error inside is classified as in [`from_tls`](Self::from_tls).
    pub(crate) fn from_io(addr: &str, e: io::Error) -> Self {
        if let Some(tls) = e.get_ref().and_then(|i| i.downcast_ref::<TlsError>()) {
            return Self::from_tls(addr, tls);
        }
        if e.kind() == io::ErrorKind::UnexpectedEof {
            return Self::Closed {
                addr: addr.to_owned(),
            };
        }
        Self::Io {
            addr: addr.to_owned(),
            source: e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_read_as_words() {
        assert_eq!(
            alert_words(AlertDescription::CertificateExpired),
            "certificate expired"
        );
        assert_eq!(
            alert_words(AlertDescription::BadCertificate),
            "bad certificate"
        );
        assert_eq!(alert_words(AlertDescription::DecodeError), "decode error");
    }

    #[test]
    fn a_refused_certificate_alert_carries_a_hint() {
        let e = TransportError::from_tls(
            "10.0.0.1:7",
            &TlsError::AlertReceived(AlertDescription::BadCertificate),
        );
        let text = e.to_string();
        assert!(text.starts_with("10.0.0.1:7: the peer refused"), "{text}");
        assert!(
            text.contains("\"bad certificate\" (does the peer allow our fingerprint"),
            "{text}"
        );
    }
}
