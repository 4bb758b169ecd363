//! Errors of the redirection executors.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::dns_wire::{Rcode, WireError};

/// A redirection step that could not be done or undone.
///
/// Every variant names what it was acting on (interface, address, DNS record,
/// host name, script) and the cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedirectError {
    /// No network interface has this name (in the current network namespace).
    #[error("network interface {interface:?} not found")]
    NoSuchInterface {
        /// The interface name.
        interface: String,
    },
    /// The kernel refused to add or remove an address.
    #[error("cannot {action} address {address}/{prefix_len} on interface {interface:?}: {source}")]
    Address {
        /// `add` or `remove`.
        action: &'static str,
        /// The address.
        address: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
        /// The interface.
        interface: String,
        /// What the kernel said.
        source: io::Error,
    },
    /// The parameters of an address step are invalid.
    #[error("invalid address step for {address}/{prefix_len}: {reason}")]
    InvalidAddress {
        /// The address.
        address: IpAddr,
        /// Its prefix length.
        prefix_len: u8,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// The gratuitous ARP (or unsolicited neighbour) announcement failed.
    #[error("cannot announce {address} on interface {interface:?}: {source}")]
    Announce {
        /// The address being announced.
        address: IpAddr,
        /// The interface.
        interface: String,
        /// The cause.
        source: io::Error,
    },
    /// A DNS name in the parameters is not a valid domain name.
    #[error("invalid DNS name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Why it is invalid.
        reason: &'static str,
    },
    /// The parameters of a step do not fit together.
    #[error("invalid parameters for {step}: {reason}")]
    InvalidParameters {
        /// The step, described.
        step: String,
        /// Why they are invalid.
        reason: &'static str,
    },
    /// The DNS server could not be reached or did not answer in time.
    #[error("DNS server {server}: {action} of {record} failed: {source}")]
    DnsTransport {
        /// The server.
        server: SocketAddr,
        /// `query` or `update`.
        action: &'static str,
        /// The record, as `name TYPE`.
        record: String,
        /// The cause (a timeout is [`io::ErrorKind::TimedOut`]).
        source: io::Error,
    },
    /// The DNS server's answer could not be decoded.
    #[error("DNS server {server}: malformed answer about {record}: {source}")]
    DnsMalformed {
        /// The server.
        server: SocketAddr,
        /// The record, as `name TYPE`.
        record: String,
        /// What is wrong with it.
        source: WireError,
    },
    /// The DNS server refused a query or an update.
    #[error("DNS server {server} refused the {action} of {record}: {rcode}")]
    DnsRefused {
        /// The server.
        server: SocketAddr,
        /// `query` or `update`.
        action: &'static str,
        /// The record, as `name TYPE`.
        record: String,
        /// The response code.
        rcode: Rcode,
    },
    /// A TSIG-signed exchange failed: the server rejected the signature, or
    /// its answer was unsigned or did not verify.
    #[error("DNS server {server}: TSIG key {key} on the update of {record}: {reason}")]
    DnsTsig {
        /// The server.
        server: SocketAddr,
        /// The key's name.
        key: String,
        /// The record, as `name TYPE`.
        record: String,
        /// What went wrong.
        reason: String,
    },
    /// The record changed between reading it and updating it (an update
    /// prerequisite failed), so the step did not overwrite someone else's
    /// change.
    #[error(
        "DNS server {server}: {record} changed concurrently (expected {expected}); not overwritten"
    )]
    DnsConflict {
        /// The server.
        server: SocketAddr,
        /// The record, as `name TYPE`.
        record: String,
        /// What the record was expected to hold.
        expected: String,
    },
    /// The host name could not be read or set.
    #[error("cannot {action} host name {name:?}: {source}")]
    HostName {
        /// `read` or `set`.
        action: &'static str,
        /// The name.
        name: String,
        /// The cause.
        source: io::Error,
    },
    /// The host name could not be saved to the persistent name file.
    #[error("cannot write host name {name:?} to {}: {source}", path.display())]
    HostNameFile {
        /// The file (usually `/etc/hostname`).
        path: PathBuf,
        /// The name.
        name: String,
        /// The cause.
        source: io::Error,
    },
    /// A user script could not be started.
    #[error("cannot start script {} ({direction}): {source}", path.display())]
    ScriptSpawn {
        /// The script.
        path: PathBuf,
        /// `do` or `undo`.
        direction: super::Direction,
        /// The cause.
        source: io::Error,
    },
    /// A user script ran past its timeout; its process group was killed.
    #[error("script {} ({direction}) timed out after {timeout:?}; its process group was killed{}", path.display(), tail(stderr))]
    ScriptTimeout {
        /// The script.
        path: PathBuf,
        /// `do` or `undo`.
        direction: super::Direction,
        /// The timeout.
        timeout: Duration,
        /// What it wrote to stderr before it was killed (bounded).
        stderr: String,
    },
    /// A user script exited unsuccessfully.
    #[error("script {} ({direction}) failed: {status}{}", path.display(), tail(stderr))]
    ScriptFailed {
        /// The script.
        path: PathBuf,
        /// `do` or `undo`.
        direction: super::Direction,
        /// The exit status, e.g. `exit status: 3` or `signal: 9 (SIGKILL)`.
        status: String,
        /// What it wrote to stderr (bounded).
        stderr: String,
    },
    /// A script in a list failed.
    #[error("script {index} of the list failed: {failed}{}", rollback_summary(rollback.as_deref()))]
    ScriptList {
        /// Position of the failed script in the list (0-based).
        index: usize,
        /// Why it failed.
        failed: Box<RedirectError>,
        /// During `apply`: the errors from undoing the scripts that had run
        /// before it (empty when they were all undone). During `undo`: `None`.
        rollback: Option<Vec<RedirectError>>,
    },
    /// The method is not available on this platform.
    #[error("{what} is not supported on this platform")]
    Unsupported {
        /// What was asked for.
        what: &'static str,
    },
}

fn tail(stderr: &str) -> String {
    let s = stderr.trim_end();
    if s.is_empty() {
        String::new()
    } else {
        format!("; stderr: {s}")
    }
}

fn rollback_summary(errors: Option<&[RedirectError]>) -> String {
    let Some(errors) = errors else {
        return String::new();
    };
    if errors.is_empty() {
        "; the scripts before it were undone".to_owned()
    } else {
        let list: Vec<String> = errors.iter().map(ToString::to_string).collect();
        format!(
            "; undoing the scripts before it also failed: {}",
            list.join("; ")
        )
    }
}
