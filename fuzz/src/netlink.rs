//! The `netlink_ack` target: finding the kernel's acknowledgement of an
//! rtnetlink request (`NLMSG_ERROR`) in a datagram, as the move-IP step does
//! after adding or removing an address.

use rha_capture::testing::netlink_parse_ack;

/// The length of `struct nlmsghdr`.
const HEADER_LEN: usize = 16;
/// `NLMSG_ERROR`: an acknowledgement (error 0) or an error.
pub(crate) const NLMSG_ERROR: u16 = 2;
/// The largest errno the kernel reports (`MAX_ERRNO`).
const MAX_ERRNO: i32 = 4095;

/// `netlink_ack`: byte 0 picks the mode (bit 0), bytes 1 to 4 are the
/// sequence number looked for (native byte order).
///
/// - 0, a raw datagram: the rest. Checks: no panic; the result is exactly
///   the reference reading below.
/// - 1, a well-formed datagram: the rest is read as messages of 4 bytes
///   each (type, flags, whether the sequence number matches, payload
///   length / 4), then an acknowledgement of the sequence number with the
///   errno in the last byte. Checks: the parser returns the errno of the
///   first `NLMSG_ERROR` for the sequence number, and the reference agrees.
pub fn netlink_ack(data: &[u8]) {
    let [control, s0, s1, s2, s3, ref rest @ ..] = *data else {
        return;
    };
    let seq = u32::from_ne_bytes([s0, s1, s2, s3]);
    if control & 1 == 0 {
        let got = netlink_parse_ack(rest, seq);
        let want = reference(rest, seq);
        match (&got, want) {
            (Ok(a), Ok(b)) if *a == b => {}
            (Err(e), Err(())) if e.kind() == std::io::ErrorKind::InvalidData => {}
            _ => panic!("parse_ack gave {got:?}, the reference {want:?}"),
        }
        return;
    }
    let (datagram, want) = well_formed(rest, seq);
    let got = netlink_parse_ack(&datagram, seq);
    assert_eq!(
        got.as_ref().ok(),
        Some(&Some(want)),
        "parse_ack gave {got:?}, the datagram acknowledges with errno {want}"
    );
    assert_eq!(reference(&datagram, seq), Ok(Some(want)));
}

/// Reference reading of a datagram (netlink(7)): messages one after the
/// other, each starting 4-byte aligned, each header's length covering at
/// least the header and lying inside the datagram; fewer than a header's
/// bytes left end it. The first `NLMSG_ERROR` with sequence number `seq`
/// is the answer: its first 4 payload bytes, inside the message, are 0 or
/// a negative errno; anything else is malformed.
pub(crate) fn reference(data: &[u8], seq: u32) -> Result<Option<i32>, ()> {
    let mut at = 0;
    while data.len().saturating_sub(at) >= HEADER_LEN {
        let m = &data[at..];
        let len = u32::from_ne_bytes([m[0], m[1], m[2], m[3]]) as usize;
        if len < HEADER_LEN || len > m.len() {
            return Err(());
        }
        let kind = u16::from_ne_bytes([m[4], m[5]]);
        let msg_seq = u32::from_ne_bytes([m[8], m[9], m[10], m[11]]);
        if kind == NLMSG_ERROR && msg_seq == seq {
            if len < HEADER_LEN + 4 {
                return Err(());
            }
            let error = i32::from_ne_bytes([m[16], m[17], m[18], m[19]]);
            if !(-MAX_ERRNO..=0).contains(&error) {
                return Err(());
            }
            return Ok(Some(-error));
        }
        at += len.div_ceil(4) * 4;
    }
    Ok(None)
}

/// One netlink message: header, then `payload`, padded to 4 bytes.
pub(crate) fn message(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(HEADER_LEN + payload.len() + 3);
    m.extend_from_slice(&((HEADER_LEN + payload.len()) as u32).to_ne_bytes());
    m.extend_from_slice(&kind.to_ne_bytes());
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&4242u32.to_ne_bytes()); // the sender's port id
    m.extend_from_slice(payload);
    m.resize(m.len().div_ceil(4) * 4, 0);
    m
}

/// An acknowledgement of `request` (`struct nlmsgerr`: the negated errno,
/// then the request's header, and for an error its payload too).
pub(crate) fn ack(seq: u32, errno: i32, request: &[u8]) -> Vec<u8> {
    let mut payload = (-errno).to_ne_bytes().to_vec();
    let echoed = if errno == 0 {
        request.len().min(HEADER_LEN)
    } else {
        request.len()
    };
    payload.extend_from_slice(&request[..echoed]);
    message(NLMSG_ERROR, 0, seq, &payload)
}

/// The datagram of mode 1 and the errno it acknowledges `seq` with.
fn well_formed(data: &[u8], seq: u32) -> (Vec<u8>, i32) {
    // NLMSG_NOOP, NLMSG_ERROR, NLMSG_DONE, NLMSG_OVERRUN, RTM_NEWADDR,
    // RTM_DELADDR, RTM_NEWLINK.
    const KINDS: [u16; 7] = [1, NLMSG_ERROR, 3, 4, 20, 21, 16];
    let mut datagram = Vec::new();
    let mut want = None;
    let (messages, last) = data.split_at(data.len() - data.len() % 4);
    for m in messages.chunks_exact(4) {
        let kind = KINDS[usize::from(m[0]) % KINDS.len()];
        let flags = u16::from(m[1]) << 4;
        let matches = m[2] & 1 == 1;
        let msg_seq = if matches { seq } else { seq.wrapping_add(1) };
        let payload_len = usize::from(m[3]) * 4;
        if kind == NLMSG_ERROR {
            let errno = i32::from(m[3]);
            if matches && want.is_none() {
                want = Some(errno);
            }
            datagram.extend_from_slice(&ack(msg_seq, errno, &[0x11; HEADER_LEN + 8]));
        } else {
            datagram.extend_from_slice(&message(kind, flags, msg_seq, &vec![m[2]; payload_len]));
        }
    }
    let errno = i32::from(last.first().copied().unwrap_or(0));
    datagram.extend_from_slice(&ack(seq, errno, &[0x22; HEADER_LEN]));
    (datagram, want.unwrap_or(errno))
}

#[cfg(test)]
pub(crate) mod seeds {
    use std::net::IpAddr;

    use rha_capture::testing::netlink_address_request;

    use super::{ack, message};

    /// Datagrams Linux 6.18 sent to `rha`'s requests (`NETLINK_ROUTE`,
    /// x86-64): the acknowledgement of an `RTM_NEWADDR` on a missing
    /// interface (-ENODEV, the request echoed; sequence number 7), of an
    /// `RTM_GETLINK` with `NLM_F_ACK` (error 0, `NLM_F_CAPPED`; 8), and
    /// the loopback part of an `RTM_GETADDR` dump (`NLM_F_MULTI`
    /// messages, then `NLMSG_DONE`; 9).
    const KERNEL: [(&str, u32, &str); 3] = [
        (
            "kernel-newaddr-enodev",
            7,
            "3c0000000200000007000000c7650000edffffff2800000014000506070000000000000002180000f0ffff7f080002000a010203080001000a010203",
        ),
        (
            "kernel-ack-0-capped",
            8,
            "240000000200000108000000c76500000000000020000000120005000800000000000000",
        ),
        (
            "kernel-getaddr-dump-done",
            9,
            "4c0000001400020009000000c7650000020880fe01000000080001007f000001080002007f000001070003006c6f0000080008008000000014000600ffffffffffffffff1600000016000000500000001400020009000000c76500000a8080fe01000000140001000000000000000000000000000000000114000600ffffffffffffffff1600000016000000080008008000000005000b0001000000140000000300020009000000c765000000000000",
        ),
    ];

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    fn input(control: u8, seq: u32, datagram: &[u8]) -> Vec<u8> {
        let mut v = vec![control];
        v.extend_from_slice(&seq.to_ne_bytes());
        v.extend_from_slice(datagram);
        v
    }

    /// (name, input) pairs: kernel datagrams, acknowledgements of the
    /// requests `MoveIp` sends, malformed datagrams, and mode 1 inputs.
    pub(crate) fn seeds() -> Vec<(String, Vec<u8>)> {
        let mut out: Vec<(String, Vec<u8>)> = KERNEL
            .iter()
            .map(|&(name, seq, datagram)| (name.to_owned(), input(0, seq, &hex(datagram))))
            .collect();
        let v4: IpAddr = [10, 1, 2, 3].into();
        let v6: IpAddr = "fd00::1".parse().expect("an address");
        let add = netlink_address_request(2, v4, 24, true, 1);
        let del = netlink_address_request(2, v6, 64, false, 1);
        let eexist = 17;
        let eaddrnotavail = 99;
        out.push(("ack-add-0".into(), input(0, 1, &ack(1, 0, &add))));
        out.push(("ack-add-eexist".into(), input(0, 1, &ack(1, eexist, &add))));
        out.push((
            "ack-del-eaddrnotavail".into(),
            input(0, 1, &ack(1, eaddrnotavail, &del)),
        ));
        let mut other_first = ack(2, 1, &add);
        other_first.extend_from_slice(&ack(1, 0, &add));
        out.push(("ack-after-another".into(), input(0, 1, &other_first)));
        let mut multipart = message(20, 0x2, 1, &[2, 24, 0, 0, 2, 0, 0, 0]);
        multipart.extend_from_slice(&message(3, 0x2, 1, &0i32.to_ne_bytes()));
        out.push(("multipart-done-no-ack".into(), input(0, 1, &multipart)));
        let mut short = ack(1, 0, &add);
        short[0] = 18; // shorter than the error field
        out.push(("ack-too-short-for-errno".into(), input(0, 1, &short)));
        let mut positive = ack(1, 0, &add);
        positive[16..20].copy_from_slice(&5i32.to_ne_bytes());
        out.push(("ack-positive-error".into(), input(0, 1, &positive)));
        let mut overlong = ack(1, 0, &add);
        overlong[0] = 200;
        out.push(("ack-length-past-end".into(), input(0, 1, &overlong)));
        out.push(("truncated-header".into(), input(0, 1, &add[..10])));
        out.push((
            "well-formed-mixed".into(),
            input(
                1,
                1,
                &[4, 1, 0, 2, 2, 0, 0, 17, 2, 0, 1, 99, 0, 0, 1, 0, 17],
            ),
        ));
        out.push(("well-formed-ack-only".into(), input(1, 7, &[0])));
        out
    }
}
