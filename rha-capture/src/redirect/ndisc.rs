//! Unsolicited neighbour advertisement (RFC 4861 §7.2.6): the IPv6
//! counterpart of gratuitous ARP. Sent to all nodes (`ff02::1`) with the
//! Override flag and the new owner's link-layer address, so neighbours that
//! cache the address switch to the new owner.
//!
//! Sent on a raw ICMPv6 socket (needs `CAP_NET_RAW`); the kernel fills in
//! the checksum and picks the interface's link-local address as the source.

use std::io;
use std::mem;
use std::net::Ipv6Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::thread;
use std::time::Duration;

/// Length of the advertisement: header, target, one link-layer option.
pub(crate) const NA_LEN: usize = 32;

/// The advertisement of `target` at `mac`.
pub(crate) fn advertisement(mac: [u8; 6], target: Ipv6Addr) -> [u8; NA_LEN] {
    let mut p = [0u8; NA_LEN];
    p[0] = 136; // neighbour advertisement; code and checksum 0
    p[4] = 0x20; // Override; not Router, not Solicited
    p[8..24].copy_from_slice(&target.octets());
    p[24] = 2; // option: target link-layer address
    p[25] = 1; // length in units of 8 bytes
    p[26..32].copy_from_slice(&mac);
    p
}

fn set_int(socket: &OwnedFd, option: libc::c_int, value: libc::c_int) -> io::Result<()> {
    // SAFETY: the pointer and length describe `value`, alive for the call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IPV6,
            option,
            (&raw const value).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Sends `count` advertisements of `target` on interface `index`,
/// `interval` apart.
pub(crate) fn announce(
    index: u32,
    mac: [u8; 6],
    target: Ipv6Addr,
    count: u32,
    interval: Duration,
) -> io::Result<()> {
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe {
        libc::socket(
            libc::AF_INET6,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::IPPROTO_ICMPV6,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a freshly opened descriptor nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let index_int = libc::c_int::try_from(index)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index out of range"))?;
    // Neighbour discovery messages must arrive with hop limit 255.
    set_int(&socket, libc::IPV6_MULTICAST_HOPS, 255)?;
    set_int(&socket, libc::IPV6_MULTICAST_IF, index_int)?;
    // SAFETY: sockaddr_in6 is plain data; all-zero is a valid value.
    let mut to: libc::sockaddr_in6 = unsafe { mem::zeroed() };
    to.sin6_family = libc::AF_INET6 as libc::sa_family_t;
    to.sin6_addr.s6_addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1).octets();
    to.sin6_scope_id = index;
    let packet = advertisement(mac, target);
    for i in 0..count {
        if i > 0 {
            thread::sleep(interval);
        }
        // SAFETY: the pointers and lengths describe `packet` and `to`, both
        // alive for the call.
        let n = unsafe {
            libc::sendto(
                socket.as_raw_fd(),
                packet.as_ptr().cast(),
                packet.len(),
                0,
                (&raw const to).cast(),
                mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertisement_layout() {
        let p = advertisement(
            [2, 0, 0, 0, 0, 9],
            Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1),
        );
        assert_eq!(&p[..8], &[136, 0, 0, 0, 0x20, 0, 0, 0]);
        assert_eq!(&p[8..10], &[0xfd, 0]);
        assert_eq!(p[23], 1);
        assert_eq!(&p[24..], &[2, 1, 2, 0, 0, 0, 0, 9]);
    }
}
