//! Move IP: the service address leaves the master's interface and joins the
//! replica's, announced with gratuitous ARP.

use std::net::IpAddr;
use std::time::Duration;

use super::rtnetlink::{self, Change};
use super::{garp, ndisc};
use super::{Executor, RedirectError, Report, Side};

/// Moves a service address between the master's and the replica's
/// interfaces (which must be on the same network segment).
///
/// | side | `apply` | `undo` |
/// |---|---|---|
/// | [`Side::Master`] | removes the address from `master_interface` | adds it back and announces it |
/// | [`Side::Replica`] | adds the address to `replica_interface` and announces it | removes it |
///
/// Addresses are changed with rtnetlink (needs `CAP_NET_ADMIN`), in the
/// caller's network namespace. Adding an address that is there or removing
/// one that is not is reported as
/// [`Outcome::AlreadyDone`](super::Outcome::AlreadyDone). After adding the
/// address the executor announces it (needs `CAP_NET_RAW`; default three
/// times, 200 ms apart), also when the address was already there, so a
/// retried step still announces: gratuitous ARP requests for IPv4,
/// unsolicited neighbour advertisements with the Override flag to all nodes
/// for IPv6.
#[derive(Debug, Clone)]
pub struct MoveIp {
    side: Side,
    address: IpAddr,
    prefix_len: u8,
    master_interface: String,
    replica_interface: String,
    announcements: u32,
    interval: Duration,
}

impl MoveIp {
    /// A move of `address/prefix_len` acting on `side`.
    ///
    /// # Errors
    ///
    /// [`RedirectError::InvalidAddress`] when the prefix is longer than the
    /// address or the address cannot be a service address (unspecified,
    /// multicast, loopback).
    pub fn new(
        side: Side,
        address: IpAddr,
        prefix_len: u8,
        master_interface: impl Into<String>,
        replica_interface: impl Into<String>,
    ) -> Result<Self, RedirectError> {
        let invalid = |reason| RedirectError::InvalidAddress {
            address,
            prefix_len,
            reason,
        };
        let max = if address.is_ipv4() { 32 } else { 128 };
        if prefix_len > max {
            return Err(invalid("the prefix is longer than the address"));
        }
        if address.is_unspecified() || address.is_multicast() || address.is_loopback() {
            return Err(invalid(
                "an unspecified, multicast or loopback address cannot be moved",
            ));
        }
        Ok(Self {
            side,
            address,
            prefix_len,
            master_interface: master_interface.into(),
            replica_interface: replica_interface.into(),
            announcements: 3,
            interval: Duration::from_millis(200),
        })
    }

    /// Sets how many gratuitous ARP requests are sent (0: none) and how far
    /// apart.
    #[must_use]
    pub fn announcements(mut self, count: u32, interval: Duration) -> Self {
        self.announcements = count;
        self.interval = interval;
        self
    }

    fn interface(&self) -> &str {
        match self.side {
            Side::Master => &self.master_interface,
            Side::Replica => &self.replica_interface,
        }
    }

    fn change(&self, add: bool) -> Result<Report, RedirectError> {
        let interface = self.interface();
        let index = rtnetlink::interface_index(interface).ok_or_else(|| {
            RedirectError::NoSuchInterface {
                interface: interface.to_owned(),
            }
        })?;
        let change = rtnetlink::change_address(index, self.address, self.prefix_len, add).map_err(
            |source| RedirectError::Address {
                action: if add { "add" } else { "remove" },
                address: self.address,
                prefix_len: self.prefix_len,
                interface: interface.to_owned(),
                source,
            },
        )?;
        let what = format!("{}/{} on {interface}", self.address, self.prefix_len);
        let mut detail = match (add, change) {
            (true, Change::Made) => format!("added {what}"),
            (true, Change::AlreadyDone) => format!("{what} was already present"),
            (false, Change::Made) => format!("removed {what}"),
            (false, Change::AlreadyDone) => format!("{what} was already absent"),
        };
        if add {
            detail.push_str(&self.announce(index, interface)?);
        }
        Ok(match change {
            Change::Made => Report::changed(detail),
            Change::AlreadyDone => Report::already(detail),
        })
    }

    fn announce(&self, index: u32, interface: &str) -> Result<String, RedirectError> {
        if self.announcements == 0 {
            return Ok(String::new());
        }
        let err = |source| RedirectError::Announce {
            address: self.address,
            interface: interface.to_owned(),
            source,
        };
        let Some(mac) = garp::ethernet_address(interface).map_err(err)? else {
            return Ok("; not announced (the interface has no link-layer address)".to_owned());
        };
        let how = match self.address {
            IpAddr::V4(v4) => {
                garp::announce(index, mac, v4, self.announcements, self.interval).map_err(err)?;
                "gratuitous ARP request(s)"
            }
            IpAddr::V6(v6) => {
                ndisc::announce(index, mac, v6, self.announcements, self.interval).map_err(err)?;
                "unsolicited neighbour advertisement(s)"
            }
        };
        Ok(format!(
            "; announced with {} {how} from {}",
            self.announcements,
            mac.map(|b| format!("{b:02x}")).join(":")
        ))
    }
}

impl Executor for MoveIp {
    fn describe(&self) -> String {
        format!(
            "move IP {}/{} from {} (master) to {} (replica), {} side",
            self.address, self.prefix_len, self.master_interface, self.replica_interface, self.side
        )
    }

    fn apply(&mut self) -> Result<Report, RedirectError> {
        self.change(self.side == Side::Replica)
    }

    fn undo(&mut self) -> Result<Report, RedirectError> {
        self.change(self.side == Side::Master)
    }
}
