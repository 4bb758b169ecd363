//! Computer alias switch: a DNS CNAME alias re-pointed from the master to
//! the replica (RFC 2136), or a NetBIOS alias (not available on Linux).

use std::net::SocketAddr;
use std::time::Duration;

use super::dns_redirect::RrsetSwitch;
use super::dns_wire::{Name, RData, RecordType};
use super::{Executor, RedirectError, Report};

/// Which kind of alias to switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasTarget {
    /// A CNAME record `alias` in `zone`, re-pointed from `master_target` to
    /// `replica_target`.
    Dns {
        /// The authoritative server accepting updates for the zone.
        server: SocketAddr,
        /// The zone.
        zone: String,
        /// The alias (owner of the CNAME record).
        alias: String,
        /// TTL of the new record, in seconds.
        ttl: u32,
        /// The master's host name.
        master_target: String,
        /// The replica's host name.
        replica_target: String,
    },
    /// A NetBIOS alias; needs a Windows host (or a Samba configuration rha
    /// does not manage), so it is refused on Linux.
    NetBios,
}

/// Re-points a CNAME alias at the replica; undo re-points it at the previous
/// target.
///
/// Works like [`DnsRedirect`](super::DnsRedirect) (read, then a
/// compare-and-swap update; concurrent changes are reported, never
/// overwritten) on the alias's CNAME record.
#[derive(Debug, Clone)]
pub struct AliasSwitch {
    switch: RrsetSwitch,
}

impl AliasSwitch {
    /// An alias switch.
    ///
    /// # Errors
    ///
    /// [`RedirectError::InvalidName`] for a bad name or an alias outside the
    /// zone; [`RedirectError::Unsupported`] for [`AliasTarget::NetBios`].
    pub fn new(target: AliasTarget) -> Result<Self, RedirectError> {
        match target {
            AliasTarget::Dns {
                server,
                zone,
                alias,
                ttl,
                master_target,
                replica_target,
            } => {
                let target = |text: &str| {
                    Name::parse(text).map(RData::Cname).map_err(|reason| {
                        RedirectError::InvalidName {
                            name: text.to_owned(),
                            reason,
                        }
                    })
                };
                let master = target(&master_target)?;
                let replica = target(&replica_target)?;
                Ok(Self {
                    switch: RrsetSwitch::new(
                        server,
                        &zone,
                        &alias,
                        RecordType::CNAME,
                        ttl,
                        master,
                        replica,
                    )?,
                })
            }
            AliasTarget::NetBios => Err(RedirectError::Unsupported {
                what: "the NetBIOS alias switch",
            }),
        }
    }

    /// Sets the time allowed for each exchange with the server (default 2 s).
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.switch.client = self.switch.client.timeout(timeout);
        self
    }

    /// Signs the updates with a TSIG key (HMAC-SHA256) and requires signed
    /// answers; without one, the server must accept updates from this
    /// host's address.
    #[must_use]
    pub fn tsig(mut self, key: super::TsigKey) -> Self {
        self.switch.client = self.switch.client.tsig(key);
        self
    }
}

impl Executor for AliasSwitch {
    fn describe(&self) -> String {
        format!("alias switch: {}", self.switch.describe())
    }

    fn apply(&mut self) -> Result<Report, RedirectError> {
        self.switch.apply()
    }

    fn undo(&mut self) -> Result<Report, RedirectError> {
        self.switch.undo()
    }
}
