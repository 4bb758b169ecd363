//! Gratuitous ARP: an ARP request for our own address, broadcast so that
//! every host on the segment (and the switches) update their caches to the
//! new owner's hardware address, as `arping -U` sends.
//!
//! Sent on an `AF_PACKET`/`SOCK_DGRAM` socket (the kernel adds the Ethernet
//! header), which needs `CAP_NET_RAW` and nothing installed.

use std::ffi::CString;
use std::io;
use std::mem;
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::thread;
use std::time::Duration;

/// Length of an Ethernet/IPv4 ARP packet.
pub(crate) const ARP_LEN: usize = 28;

/// The ARP packet announcing `address` at `mac` (request, sender and target
/// protocol addresses both `address`, target hardware address zero).
pub(crate) fn announcement(mac: [u8; 6], address: Ipv4Addr) -> [u8; ARP_LEN] {
    let mut p = [0u8; ARP_LEN];
    p[0..2].copy_from_slice(&1u16.to_be_bytes()); // hardware: Ethernet
    p[2..4].copy_from_slice(&0x0800u16.to_be_bytes()); // protocol: IPv4
    p[4] = 6;
    p[5] = 4;
    p[6..8].copy_from_slice(&1u16.to_be_bytes()); // request
    p[8..14].copy_from_slice(&mac);
    p[14..18].copy_from_slice(&address.octets());
    p[24..28].copy_from_slice(&address.octets());
    p
}

/// The hardware address of interface `name`, or `None` when it is not an
/// Ethernet-like interface (loopback, tunnels): those have no ARP.
pub(crate) fn ethernet_address(name: &str) -> io::Result<Option<[u8; 6]>> {
    let cname = CString::new(name).map_err(|_| io::ErrorKind::InvalidInput)?;
    if cname.as_bytes_with_nul().len() > libc::IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "interface name too long",
        ));
    }
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a freshly opened descriptor nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: ifreq is plain data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { mem::zeroed() };
    for (dst, &src) in req.ifr_name.iter_mut().zip(cname.as_bytes()) {
        *dst = src as libc::c_char;
    }
    // SAFETY: SIOCGIFHWADDR reads the name from and writes the address into
    // `req`, which is a valid ifreq alive for the call.
    let rc = unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFHWADDR, &raw mut req) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: SIOCGIFHWADDR filled the hardware-address member of the union.
    let hw = unsafe { req.ifr_ifru.ifru_hwaddr };
    if hw.sa_family != libc::ARPHRD_ETHER {
        return Ok(None);
    }
    let mut mac = [0u8; 6];
    for (dst, &src) in mac.iter_mut().zip(hw.sa_data.iter()) {
        *dst = src as u8;
    }
    Ok(Some(mac))
}

/// Broadcasts `count` announcements of `address` on interface `index` with
/// hardware address `mac`, `interval` apart.
pub(crate) fn announce(
    index: u32,
    mac: [u8; 6],
    address: Ipv4Addr,
    count: u32,
    interval: Duration,
) -> io::Result<()> {
    let protocol = (libc::ETH_P_ARP as u16).to_be();
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            libc::c_int::from(protocol),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a freshly opened descriptor nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
    let mut to: libc::sockaddr_ll = unsafe { mem::zeroed() };
    to.sll_family = libc::AF_PACKET as libc::c_ushort;
    to.sll_protocol = protocol;
    to.sll_ifindex = libc::c_int::try_from(index)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface index out of range"))?;
    to.sll_halen = 6;
    to.sll_addr[..6].copy_from_slice(&[0xff; 6]);
    let packet = announcement(mac, address);
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
                mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
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
    fn announcement_layout() {
        let mac = [2, 0, 0, 0, 0, 9];
        let p = announcement(mac, Ipv4Addr::new(10, 0, 0, 100));
        assert_eq!(
            p,
            [
                0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 9, 10, 0, 0, 100, 0, 0, 0, 0, 0, 0, 10, 0,
                0, 100
            ]
        );
    }
}
