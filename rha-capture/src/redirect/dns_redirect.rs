//! DNS redirect: the master's A (or AAAA) record rewritten to the replica's
//! address through an RFC 2136 dynamic update.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::dns_client::{rdata_set, DnsClient};
use super::dns_wire::{Class, Message, Name, RData, Rcode, Record, RecordType};
use super::{Executor, RedirectError, Report};

/// Rewrites `name`'s address record from the master's address to the
/// replica's; undo puts back what was there before.
///
/// `apply` reads the current record set from the server, then sends one
/// update whose prerequisite is exactly that set (so a change made by someone
/// else in between is reported as [`RedirectError::DnsConflict`], not
/// overwritten), deleting the set and adding the replica's address. `undo`
/// restores the set seen by `apply` (or, when this executor did not apply
/// the step, for example after an agent restart, the master's address with
/// the configured TTL), under the prerequisite that the record still holds
/// the replica's address.
///
/// An IPv4 pair rewrites the A record, an IPv6 pair the AAAA record.
#[derive(Debug, Clone)]
pub struct DnsRedirect {
    switch: RrsetSwitch,
}

impl DnsRedirect {
    /// A redirect of `name` (in `zone`, served by `server`) from
    /// `master_address` to `replica_address`, the new record having `ttl`
    /// seconds to live.
    ///
    /// # Errors
    ///
    /// [`RedirectError::InvalidName`] for a bad name or a name outside the
    /// zone; [`RedirectError::InvalidParameters`] when the two addresses are
    /// not of the same family.
    pub fn new(
        server: SocketAddr,
        zone: &str,
        name: &str,
        ttl: u32,
        master_address: IpAddr,
        replica_address: IpAddr,
    ) -> Result<Self, RedirectError> {
        let (rtype, master, replica) = match (master_address, replica_address) {
            (IpAddr::V4(m), IpAddr::V4(r)) => (RecordType::A, RData::A(m), RData::A(r)),
            (IpAddr::V6(m), IpAddr::V6(r)) => (RecordType::AAAA, RData::Aaaa(m), RData::Aaaa(r)),
            _ => {
                return Err(RedirectError::InvalidParameters {
                    step: format!("DNS redirect of {name}"),
                    reason: "the master and replica addresses must both be IPv4 or both IPv6",
                })
            }
        };
        Ok(Self {
            switch: RrsetSwitch::new(server, zone, name, rtype, ttl, master, replica)?,
        })
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

impl Executor for DnsRedirect {
    fn describe(&self) -> String {
        format!("DNS redirect: {}", self.switch.describe())
    }

    fn apply(&mut self) -> Result<Report, RedirectError> {
        self.switch.apply()
    }

    fn undo(&mut self) -> Result<Report, RedirectError> {
        self.switch.undo()
    }
}

/// Switches one record set between a master value and a replica value with
/// compare-and-swap updates; shared by the DNS redirect and the alias switch.
#[derive(Debug, Clone)]
pub(crate) struct RrsetSwitch {
    pub(crate) client: DnsClient,
    zone: Name,
    name: Name,
    rtype: RecordType,
    ttl: u32,
    master: RData,
    replica: RData,
    /// The set (data, TTL) replaced by the last successful `apply`.
    previous: Option<(Vec<RData>, u32)>,
}

impl RrsetSwitch {
    pub(crate) fn new(
        server: SocketAddr,
        zone: &str,
        name: &str,
        rtype: RecordType,
        ttl: u32,
        master: RData,
        replica: RData,
    ) -> Result<Self, RedirectError> {
        let parse = |text: &str| {
            Name::parse(text).map_err(|reason| RedirectError::InvalidName {
                name: text.to_owned(),
                reason,
            })
        };
        let zone = parse(zone)?;
        let owner = parse(name)?;
        if !owner.is_within(&zone) {
            return Err(RedirectError::InvalidName {
                name: name.to_owned(),
                reason: "the name is not inside the zone",
            });
        }
        Ok(Self {
            client: DnsClient::new(server),
            zone,
            name: owner,
            rtype,
            ttl,
            master,
            replica,
            previous: None,
        })
    }

    pub(crate) fn record(&self) -> String {
        format!("{} {}", self.name, self.rtype)
    }

    pub(crate) fn describe(&self) -> String {
        format!(
            "{} {} -> {} (zone {}, server {})",
            self.record(),
            self.master,
            self.replica,
            self.zone,
            self.client.server()
        )
    }

    fn current(&self) -> Result<(Vec<RData>, u32), RedirectError> {
        let records = self.client.lookup(&self.name, self.rtype)?;
        let ttl = records.first().map_or(self.ttl, |r| r.ttl);
        Ok((rdata_set(&records), ttl))
    }

    pub(crate) fn apply(&mut self) -> Result<Report, RedirectError> {
        let (current, ttl) = self.current()?;
        let wanted = vec![self.replica.clone()];
        if current == wanted {
            return Ok(Report::already(format!(
                "{} already holds {}",
                self.record(),
                self.replica
            )));
        }
        self.replace(&current, &wanted, self.ttl)?;
        let detail = format!(
            "{} now holds {} (was {})",
            self.record(),
            self.replica,
            show(&current)
        );
        self.previous = Some((current, ttl));
        Ok(Report::changed(detail))
    }

    pub(crate) fn undo(&mut self) -> Result<Report, RedirectError> {
        let (target, ttl) = self
            .previous
            .clone()
            .unwrap_or_else(|| (vec![self.master.clone()], self.ttl));
        let (current, _) = self.current()?;
        if current == target {
            self.previous = None;
            return Ok(Report::already(format!(
                "{} already holds {}",
                self.record(),
                show(&target)
            )));
        }
        let redirected = vec![self.replica.clone()];
        if current != redirected {
            return Err(RedirectError::DnsConflict {
                server: self.client.server(),
                record: self.record(),
                expected: format!("{} or {}", show(&redirected), show(&target)),
            });
        }
        self.replace(&current, &target, ttl)?;
        self.previous = None;
        Ok(Report::changed(format!(
            "{} restored to {}",
            self.record(),
            show(&target)
        )))
    }

    /// One update: if the set is exactly `from`, make it exactly `to`.
    fn replace(&self, from: &[RData], to: &[RData], ttl: u32) -> Result<(), RedirectError> {
        let entry = |class, ttl, rdata| Record {
            name: self.name.clone(),
            rtype: self.rtype,
            class,
            ttl,
            rdata,
        };
        let prerequisites = if from.is_empty() {
            // RFC 2136 §2.4.3: RRset does not exist.
            vec![entry(Class::NONE, 0, RData::Empty)]
        } else {
            // RFC 2136 §2.4.2: RRset exists, value dependent.
            from.iter()
                .map(|d| entry(Class::IN, 0, d.clone()))
                .collect()
        };
        // RFC 2136 §2.5.2 then §2.5.1: delete the RRset, add the new records.
        let mut changes = vec![entry(Class::ANY, 0, RData::Empty)];
        changes.extend(to.iter().map(|d| entry(Class::IN, ttl, d.clone())));
        let update = Message::update(
            super::dns_client::next_id(),
            self.zone.clone(),
            prerequisites,
            changes,
        );
        let record = self.record();
        match self.client.update(&update, &record)? {
            Rcode::NOERROR => Ok(()),
            Rcode::NXRRSET | Rcode::YXRRSET | Rcode::NXDOMAIN | Rcode::YXDOMAIN => {
                Err(RedirectError::DnsConflict {
                    server: self.client.server(),
                    record,
                    expected: show(from),
                })
            }
            rcode => Err(RedirectError::DnsRefused {
                server: self.client.server(),
                action: "update",
                record,
                rcode,
            }),
        }
    }
}

fn show(set: &[RData]) -> String {
    if set.is_empty() {
        "no record".to_owned()
    } else {
        set.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}
