//! The parsers of untrusted bytes behind the redirect executors, for the
//! fuzz targets and tests (`testing` feature). Not part of the stable API.
//!
//! | function | what it wraps |
//! |---|---|
//! | [`tsig_sign_request`] | how [`DnsClient`](crate::redirect::DnsClient) signs an update |
//! | [`tsig_sign_answer`] | how a server signs its answer to it (RFC 8945 §5.3) |
//! | [`tsig_verify`] | how the client checks that answer's signature |
//! | [`netlink_address_request`] | the `RTM_NEWADDR`/`RTM_DELADDR` request `MoveIp` sends |
//! | [`netlink_parse_ack`] | how `MoveIp` finds the kernel's acknowledgement in a datagram |

use std::io;
use std::net::IpAddr;

use crate::redirect::{rtnetlink, tsig, TsigKey};

/// The fudge (seconds of clock difference) every signature carries.
pub const TSIG_FUDGE: u16 = tsig::FUDGE;

/// Signs an encoded request at `time_signed` (seconds since the epoch):
/// the request with its TSIG record appended, and the request's MAC.
pub fn tsig_sign_request(key: &TsigKey, message: &[u8], time_signed: u64) -> (Vec<u8>, Vec<u8>) {
    key.sign(message, time_signed)
}

/// Signs an encoded answer to a request whose MAC was `request_mac`, as a
/// server does: the answer with its TSIG record appended.
pub fn tsig_sign_answer(
    key: &TsigKey,
    answer: &[u8],
    request_mac: &[u8],
    time_signed: u64,
) -> Vec<u8> {
    key.sign_answer(answer, request_mac, time_signed)
}

/// Checks the signature of an answer to a request whose MAC was
/// `request_mac`, at `now` (seconds since the epoch).
///
/// # Errors
///
/// Why the answer is refused (undecodable, unsigned, malformed TSIG
/// record, another key, a bad signature, outside the fudge).
pub fn tsig_verify(
    key: &TsigKey,
    answer: &[u8],
    request_mac: &[u8],
    now: u64,
) -> Result<(), String> {
    key.verify(answer, request_mac, now)
}

/// The request adding (`add`) or removing `address/prefix_len` on
/// interface `index`, with sequence number `seq`.
pub fn netlink_address_request(
    index: u32,
    address: IpAddr,
    prefix_len: u8,
    add: bool,
    seq: u32,
) -> Vec<u8> {
    rtnetlink::address_message(index, address, prefix_len, add, seq)
}

/// Looks through one datagram from the kernel for the acknowledgement of
/// request `seq`: its errno (0 for success), or `None` if it is not there.
///
/// # Errors
///
/// [`io::ErrorKind::InvalidData`] for a malformed datagram.
pub fn netlink_parse_ack(datagram: &[u8], seq: u32) -> io::Result<Option<i32>> {
    rtnetlink::parse_ack(datagram, seq)
}
