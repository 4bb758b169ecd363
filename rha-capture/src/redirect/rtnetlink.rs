//! Adding and removing interface addresses with rtnetlink (`RTM_NEWADDR`,
//! `RTM_DELADDR`) over a netlink socket: the two messages `ip address add`
//! and `ip address del` send, without needing iproute2 installed and with
//! the kernel's errno kept for the error report.

use std::ffi::CString;
use std::io;
use std::mem;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

const NLMSG_HDR_LEN: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
/// The largest errno the kernel reports (`MAX_ERRNO`).
const MAX_ERRNO: i32 = 4095;

/// How long to wait for the kernel's acknowledgement.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// The index of interface `name` in the caller's network namespace, or
/// `None` if there is none.
pub(crate) fn interface_index(name: &str) -> Option<u32> {
    let name = CString::new(name).ok()?;
    // SAFETY: `name` is a valid NUL-terminated string for the whole call.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

/// Whether an address change found the address already in the wanted state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Change {
    /// The kernel made the change.
    Made,
    /// Add: the address was already there. Remove: it was not there.
    AlreadyDone,
}

/// Adds (`add` true) or removes `address/prefix_len` on interface `index`.
pub(crate) fn change_address(
    index: u32,
    address: IpAddr,
    prefix_len: u8,
    add: bool,
) -> io::Result<Change> {
    let message = address_message(index, address, prefix_len, add, 1);
    let socket = open()?;
    send(&socket, &message)?;
    match receive_ack(&socket, 1)? {
        0 => Ok(Change::Made),
        e if add && e == libc::EEXIST => Ok(Change::AlreadyDone),
        e if !add && e == libc::EADDRNOTAVAIL => Ok(Change::AlreadyDone),
        e => Err(io::Error::from_raw_os_error(e)),
    }
}

/// Builds one `RTM_NEWADDR`/`RTM_DELADDR` request (native byte order, as
/// netlink wants).
pub(crate) fn address_message(
    index: u32,
    address: IpAddr,
    prefix_len: u8,
    add: bool,
    seq: u32,
) -> Vec<u8> {
    let (family, bytes): (u8, Vec<u8>) = match address {
        IpAddr::V4(a) => (libc::AF_INET as u8, a.octets().to_vec()),
        IpAddr::V6(a) => (libc::AF_INET6 as u8, a.octets().to_vec()),
    };
    let (kind, flags) = if add {
        (
            RTM_NEWADDR,
            NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
        )
    } else {
        (RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK)
    };
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(&0u32.to_ne_bytes()); // length, patched below
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it
                                              // struct ifaddrmsg: family, prefix length, flags, scope (universe), index.
    m.extend_from_slice(&[family, prefix_len, 0, 0]);
    m.extend_from_slice(&index.to_ne_bytes());
    for attr in [IFA_LOCAL, IFA_ADDRESS] {
        let len = (4 + bytes.len()) as u16;
        m.extend_from_slice(&len.to_ne_bytes());
        m.extend_from_slice(&attr.to_ne_bytes());
        m.extend_from_slice(&bytes);
        // Attributes are 4-byte aligned; addresses are 4 or 16 bytes already.
    }
    let len = m.len() as u32;
    m[..4].copy_from_slice(&len.to_ne_bytes());
    m
}

fn open() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) takes no pointers.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a freshly opened descriptor nothing else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let timeout = libc::timeval {
        tv_sec: ACK_TIMEOUT.as_secs() as libc::time_t,
        tv_usec: 0,
    };
    // SAFETY: the pointer and length describe `timeout`, alive for the call.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const timeout).cast(),
            mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(socket)
}

fn send(socket: &OwnedFd, message: &[u8]) -> io::Result<()> {
    // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
    let mut kernel: libc::sockaddr_nl = unsafe { mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // SAFETY: the pointers and lengths describe `message` and `kernel`,
    // both alive for the call.
    let n = unsafe {
        libc::sendto(
            socket.as_raw_fd(),
            message.as_ptr().cast(),
            message.len(),
            0,
            (&raw const kernel).cast(),
            mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Waits for the `NLMSG_ERROR` answering request `seq` and returns its
/// errno (0 for success).
fn receive_ack(socket: &OwnedFd, seq: u32) -> io::Result<i32> {
    let mut buf = vec![0u8; 8192];
    loop {
        // SAFETY: the pointer and length describe `buf`, alive for the call.
        let n = unsafe { libc::recv(socket.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            if e.kind() == io::ErrorKind::WouldBlock {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the kernel did not acknowledge the netlink request",
                ));
            }
            return Err(e);
        }
        let n = usize::try_from(n).unwrap_or(0);
        if let Some(errno) = parse_ack(&buf[..n], seq)? {
            return Ok(errno);
        }
    }
}

/// Looks through one datagram of netlink messages for the acknowledgement
/// of `seq`; `Ok(None)` if it is not there.
pub(crate) fn parse_ack(mut data: &[u8], seq: u32) -> io::Result<Option<i32>> {
    let bad = || io::Error::new(io::ErrorKind::InvalidData, "malformed netlink answer");
    while data.len() >= NLMSG_HDR_LEN {
        let field =
            |at: usize| u32::from_ne_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let len = field(0) as usize;
        let kind = u16::from_ne_bytes([data[4], data[5]]);
        let msg_seq = field(8);
        if len < NLMSG_HDR_LEN || len > data.len() {
            return Err(bad());
        }
        if kind == NLMSG_ERROR && msg_seq == seq {
            // struct nlmsgerr: 0 or a negated errno, inside this message.
            let body = data[..len]
                .get(NLMSG_HDR_LEN..NLMSG_HDR_LEN + 4)
                .ok_or_else(bad)?;
            let error = i32::from_ne_bytes([body[0], body[1], body[2], body[3]]);
            if !(-MAX_ERRNO..=0).contains(&error) {
                return Err(bad());
            }
            return Ok(Some(-error));
        }
        let aligned = (len + 3) & !3;
        data = data.get(aligned..).unwrap_or(&[]);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IFADDRMSG_LEN: usize = 8;

    #[test]
    fn request_layout() {
        let m = address_message(
            7,
            "10.1.2.3".parse().unwrap_or(IpAddr::from([0; 4])),
            24,
            true,
            9,
        );
        assert_eq!(m.len(), NLMSG_HDR_LEN + IFADDRMSG_LEN + 2 * 8);
        assert_eq!(
            u32::from_ne_bytes([m[0], m[1], m[2], m[3]]) as usize,
            m.len()
        );
        assert_eq!(u16::from_ne_bytes([m[4], m[5]]), RTM_NEWADDR);
        assert_eq!(u32::from_ne_bytes([m[8], m[9], m[10], m[11]]), 9);
        assert_eq!(m[16], libc::AF_INET as u8);
        assert_eq!(m[17], 24);
        assert_eq!(u32::from_ne_bytes([m[20], m[21], m[22], m[23]]), 7);
        assert_eq!(&m[28..32], &[10, 1, 2, 3]);
        let del = address_message(
            7,
            "fd00::1".parse().unwrap_or(IpAddr::from([0; 4])),
            64,
            false,
            1,
        );
        assert_eq!(u16::from_ne_bytes([del[4], del[5]]), RTM_DELADDR);
        assert_eq!(del.len(), NLMSG_HDR_LEN + IFADDRMSG_LEN + 2 * 20);
    }

    #[test]
    fn acks_are_found_and_bad_answers_rejected() {
        let mut ack = Vec::new();
        ack.extend_from_slice(&36u32.to_ne_bytes());
        ack.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        ack.extend_from_slice(&0u16.to_ne_bytes());
        ack.extend_from_slice(&5u32.to_ne_bytes());
        ack.extend_from_slice(&0u32.to_ne_bytes());
        ack.extend_from_slice(&(-libc::EEXIST).to_ne_bytes());
        ack.extend_from_slice(&[0; 16]);
        assert_eq!(parse_ack(&ack, 5).ok(), Some(Some(libc::EEXIST)));
        assert_eq!(parse_ack(&ack, 6).ok(), Some(None));
        let mut short = ack.clone();
        short[0] = 200;
        assert!(parse_ack(&short, 5).is_err());
        assert_eq!(parse_ack(&ack[..10], 5).ok(), Some(None));
    }

    /// The fuzzer's finds (`netlink_ack`): an error field outside the
    /// message was read from the bytes after it, and a positive error
    /// (or `i32::MIN`, whose negation overflows) was passed on as an
    /// errno. Both are malformed.
    #[test]
    fn the_error_field_is_inside_the_message_and_an_errno() {
        let ack = |len: u32, error: i32| {
            let mut m = Vec::new();
            m.extend_from_slice(&len.to_ne_bytes());
            m.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
            m.extend_from_slice(&0u16.to_ne_bytes());
            m.extend_from_slice(&5u32.to_ne_bytes());
            m.extend_from_slice(&0u32.to_ne_bytes());
            m.extend_from_slice(&error.to_ne_bytes());
            m
        };
        // A 16-byte NLMSG_ERROR followed by 4 more bytes.
        assert!(parse_ack(&ack(16, 0), 5).is_err());
        assert!(parse_ack(&ack(18, 0), 5).is_err());
        for error in [1, 5, i32::MAX, i32::MIN, -4096] {
            assert!(parse_ack(&ack(20, error), 5).is_err(), "error {error}");
        }
        assert_eq!(parse_ack(&ack(20, -4095), 5).ok(), Some(Some(4095)));
        assert_eq!(parse_ack(&ack(20, 0), 5).ok(), Some(Some(0)));
    }
}
