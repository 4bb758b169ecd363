//! The `tsig_verify` target: TSIG (RFC 8945, HMAC-SHA256) signing and the
//! verification of a DNS server's signed answer, which the DNS redirection
//! steps run on bytes from the network.

use hmac::{Hmac, Mac};
use rha_capture::redirect::dns_wire::{Class, Message, Name, RData, RecordType, MAX_MESSAGE_LEN};
use rha_capture::redirect::TsigKey;
use rha_capture::testing::{
    tsig_sign_answer, tsig_sign_request, tsig_verify as verify_answer, TSIG_FUDGE,
};
use sha2::Sha256;

/// The time every signature of this target is made at.
const SIGNED_AT: u64 = 1_700_000_000;

/// The longest signed answer whose every byte is changed in turn; longer
/// ones have their first and last `CHANGED_BYTES / 2` bytes changed.
const CHANGED_BYTES: usize = 512;

/// The key of modes 0 and 2: what the corpus's signed answers are signed
/// with.
pub(crate) fn fixed_key() -> TsigKey {
    TsigKey::new("rha-key", b"0123456789abcdef".to_vec()).expect("a valid key")
}

/// The request MAC of modes 0 and 2.
pub(crate) const FIXED_REQUEST_MAC: [u8; 32] = [0x5a; 32];

/// `tsig_verify`: byte 0 picks the mode (its value modulo 3).
///
/// - 0, a raw answer: the rest is an answer verified with a fixed key and
///   request MAC at a fixed time (`SIGNED_AT`). Checks: no panic; an answer that
///   verifies does not verify with another secret or request MAC.
/// - 1, sign then verify: byte 1 picks the key (name and secret length),
///   byte 2 the request MAC's length, byte 3 the clock skew
///   (`3 * (b - 128)` s), byte 4 the change made to each byte below (xor,
///   0 taken as 0x01); the rest is an unsigned answer. If it decodes as a
///   DNS message, the answer signed the server's way verifies exactly when
///   the skew is within the fudge; changing any single byte of it makes
///   it fail, except the message ID (RFC 8945 §4.3.2: the MAC covers the
///   original ID, and the client matches IDs itself), which must still
///   verify, as must the case of a letter in the TSIG record's owner or
///   algorithm name (the MAC covers their canonical form); another request
///   MAC or secret fails. The same bytes signed as a request decode with the
///   TSIG record last, whose MAC is the reference HMAC computed here.
/// - 2, raw TSIG record data: the rest becomes the data of a TSIG record
///   by the fixed key in an empty answer. Checks: no panic.
pub fn tsig_verify(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    match control % 3 {
        0 => raw_answer(rest),
        1 => sign_and_verify(rest),
        _ => raw_rdata(rest),
    }
}

fn raw_answer(answer: &[u8]) {
    let key = fixed_key();
    if tsig_verify_at(&key, answer, &FIXED_REQUEST_MAC, SIGNED_AT).is_ok() {
        let other = TsigKey::new("rha-key", b"another secret".to_vec()).expect("a valid key");
        assert!(tsig_verify_at(&other, answer, &FIXED_REQUEST_MAC, SIGNED_AT).is_err());
        let mut mac = FIXED_REQUEST_MAC;
        mac[0] ^= 1;
        assert!(tsig_verify_at(&key, answer, &mac, SIGNED_AT).is_err());
    }
}

fn raw_rdata(rdata: &[u8]) {
    let Ok(len) = u16::try_from(rdata.len()) else {
        return;
    };
    let key = fixed_key();
    // An empty answer (ID 0x4242, QR set, one additional record).
    let mut answer = vec![0x42, 0x42, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    wire_name(key.name(), &mut answer);
    answer.extend_from_slice(&RecordType::TSIG.0.to_be_bytes());
    answer.extend_from_slice(&Class::ANY.0.to_be_bytes());
    answer.extend_from_slice(&0u32.to_be_bytes());
    answer.extend_from_slice(&len.to_be_bytes());
    answer.extend_from_slice(rdata);
    if let Err(reason) = tsig_verify_at(&key, &answer, &FIXED_REQUEST_MAC, SIGNED_AT) {
        assert!(!reason.is_empty());
    }
}

fn sign_and_verify(data: &[u8]) {
    let [key_byte, mac_byte, skew_byte, change, ref answer @ ..] = *data else {
        return;
    };
    let names = ["rha-key", "key.example.test", "k", "Mixed-Case.Key"];
    let name = names[usize::from(key_byte % 4)];
    // Secrets up to 95 bytes: HMAC hashes those over 64 bytes first.
    let secret = vec![key_byte ^ 0x36; 1 + usize::from(key_byte / 4) % 95];
    let key = TsigKey::new(name, secret.clone()).expect("a valid key");
    let request_mac: Vec<u8> = (0..mac_byte % 65).collect();
    let skew = 3 * (i64::from(skew_byte) - 128);
    let change = if change == 0 { 1 } else { change };

    let Ok(message) = Message::decode(answer) else {
        return;
    };
    let count = message.additional.len();
    if count >= usize::from(u16::MAX) {
        return;
    }

    // A request signed by the client.
    let (signed, mac) = tsig_sign_request(&key, answer, SIGNED_AT);
    if signed.len() <= MAX_MESSAGE_LEN {
        let decoded = Message::decode(&signed).expect("a signed message decodes");
        let tsig = decoded.additional.last().expect("a TSIG record");
        assert_eq!(decoded.additional.len(), count + 1);
        assert_eq!(
            (tsig.rtype, tsig.class, tsig.ttl, &tsig.name),
            (RecordType::TSIG, Class::ANY, 0, key.name())
        );
        let RData::Other(rdata) = &tsig.rdata else {
            panic!("TSIG data decoded as {:?}", tsig.rdata);
        };
        assert_eq!(mac, reference_mac(&key, &secret, answer));
        let mut want = hmac_sha256_wire();
        want.extend_from_slice(&SIGNED_AT.to_be_bytes()[2..]);
        want.extend_from_slice(&TSIG_FUDGE.to_be_bytes());
        want.extend_from_slice(&32u16.to_be_bytes());
        want.extend_from_slice(&mac);
        want.extend_from_slice(&answer[..2]);
        want.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(rdata, &want, "the request's TSIG data");
    }

    // The server's signed answer.
    let signed = tsig_sign_answer(&key, answer, &request_mac, SIGNED_AT);
    if signed.len() > MAX_MESSAGE_LEN {
        return;
    }
    let now = SIGNED_AT.saturating_add_signed(skew);
    let in_time = skew.unsigned_abs() <= u64::from(TSIG_FUDGE);
    let verdict = tsig_verify_at(&key, &signed, &request_mac, now);
    assert_eq!(
        verdict.is_ok(),
        in_time,
        "signed answer, skew {skew} s: {verdict:?}"
    );
    let verifies = |bytes: &[u8]| tsig_verify_at(&key, bytes, &request_mac, SIGNED_AT);
    assert_eq!(verifies(&signed), Ok(()));

    let positions: Vec<usize> = if signed.len() <= CHANGED_BYTES {
        (0..signed.len()).collect()
    } else {
        (0..CHANGED_BYTES / 2)
            .chain(signed.len() - CHANGED_BYTES / 2..signed.len())
            .collect()
    };
    // Names compare without case (RFC 8945 §4.3.3 signs their canonical
    // form): the TSIG record's owner and algorithm names may change case.
    let owner = answer.len()..answer.len() + key.name().wire_len();
    let algorithm = owner.end + 10..owner.end + 10 + hmac_sha256_wire().len();
    let mut tampered = signed.clone();
    for i in positions {
        tampered[i] ^= change;
        let verdict = verifies(&tampered);
        let in_names = owner.contains(&i) || algorithm.contains(&i);
        if i < 2 {
            assert_eq!(verdict, Ok(()), "a changed ID (byte {i}) fails");
        } else if in_names && change == 0x20 && signed[i].is_ascii_alphabetic() {
            assert_eq!(verdict, Ok(()), "a case change in a name (byte {i}) fails");
        } else {
            assert!(
                verdict.is_err(),
                "byte {i} of {} changed (xor {change:#04x}) still verifies",
                signed.len()
            );
        }
        tampered[i] ^= change;
    }

    let mut other_mac = request_mac.clone();
    match other_mac.first_mut() {
        Some(b) => *b ^= change,
        None => other_mac.push(0),
    }
    assert!(tsig_verify_at(&key, &signed, &other_mac, SIGNED_AT).is_err());
    let mut other_secret = secret;
    other_secret[0] ^= change;
    let other = TsigKey::new(name, other_secret).expect("a valid key");
    assert!(tsig_verify_at(&other, &signed, &request_mac, SIGNED_AT).is_err());
}

/// [`tsig_verify`] (the library's), checking that a refusal says why.
fn tsig_verify_at(
    key: &TsigKey,
    answer: &[u8],
    request_mac: &[u8],
    now: u64,
) -> Result<(), String> {
    let r = verify_answer(key, answer, request_mac, now);
    if let Err(reason) = &r {
        assert!(!reason.is_empty(), "a refusal without a reason");
    }
    r
}

/// The MAC of a request (RFC 8945 §4.3.3): HMAC-SHA256 over the message
/// and the TSIG variables, computed independently of the library.
fn reference_mac(key: &TsigKey, secret: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key");
    mac.update(message);
    let mut variables = Vec::new();
    wire_name(key.name(), &mut variables);
    variables.extend_from_slice(&Class::ANY.0.to_be_bytes());
    variables.extend_from_slice(&0u32.to_be_bytes()); // TTL
    variables.extend_from_slice(&hmac_sha256_wire());
    variables.extend_from_slice(&SIGNED_AT.to_be_bytes()[2..]);
    variables.extend_from_slice(&TSIG_FUDGE.to_be_bytes());
    variables.extend_from_slice(&[0, 0, 0, 0]); // error, other length
    mac.update(&variables);
    mac.finalize().into_bytes().to_vec()
}

/// `hmac-sha256.` in wire form.
fn hmac_sha256_wire() -> Vec<u8> {
    b"\x0bhmac-sha256\x00".to_vec()
}

/// `name` in uncompressed wire form.
pub(crate) fn wire_name(name: &Name, out: &mut Vec<u8>) {
    for label in name.labels() {
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
}

#[cfg(test)]
pub(crate) mod seeds {
    use std::net::Ipv4Addr;

    use rha_capture::redirect::dns_wire::{Class, Message, Name, RData, Rcode, Record, RecordType};
    use rha_capture::redirect::TsigKey;
    use rha_capture::testing::{tsig_sign_answer, tsig_sign_request};

    use super::{fixed_key, wire_name, FIXED_REQUEST_MAC, SIGNED_AT};

    fn name(s: &str) -> Name {
        Name::parse(s).expect("a valid seed name")
    }

    /// The update `DnsRedirect` sends to move `files.example.test` to
    /// 10.0.0.2: delete the A RRset, add the new record.
    fn update() -> Message {
        let owner = name("files.example.test");
        let record = |class, ttl, rdata| Record {
            name: owner.clone(),
            rtype: RecordType::A,
            class,
            ttl,
            rdata,
        };
        Message::update(
            0x1234,
            name("example.test"),
            vec![],
            vec![
                record(Class::ANY, 0, RData::Empty),
                record(Class::IN, 60, RData::A(Ipv4Addr::new(10, 0, 0, 2))),
            ],
        )
    }

    /// The server's answers: to the update (NOERROR, NOTAUTH), and to a
    /// query for the A record (with the answer, a name compressed).
    fn answers() -> Vec<(&'static str, Message)> {
        let mut ok = update();
        ok.response = true;
        ok.authority.clear();
        let mut notauth = ok.clone();
        notauth.rcode = Rcode::NOTAUTH;
        let mut query = Message::query(0x4321, name("files.example.test"), RecordType::A);
        query.response = true;
        query.answers.push(Record {
            name: name("files.example.test"),
            rtype: RecordType::A,
            class: Class::IN,
            ttl: 60,
            rdata: RData::A(Ipv4Addr::new(10, 0, 0, 1)),
        });
        vec![
            ("update-noerror", ok),
            ("update-notauth", notauth),
            ("query-answer", query),
        ]
    }

    fn input(control: u8, bytes: &[u8]) -> Vec<u8> {
        let mut v = vec![control];
        v.extend_from_slice(bytes);
        v
    }

    /// The TSIG record data of a signed message (its last record).
    fn rdata_of(signed: &[u8]) -> Vec<u8> {
        let m = Message::decode(signed).expect("a signed message decodes");
        match &m.additional.last().expect("a TSIG record").rdata {
            RData::Other(b) => b.clone(),
            other => panic!("TSIG data decoded as {other:?}"),
        }
    }

    /// (name, input) pairs for each mode.
    pub(crate) fn seeds() -> Vec<(String, Vec<u8>)> {
        let key = fixed_key();
        let mut out = Vec::new();
        for (what, answer) in answers() {
            let bytes = answer.encode();
            let signed = tsig_sign_answer(&key, &bytes, &FIXED_REQUEST_MAC, SIGNED_AT);
            out.push((format!("signed-{what}"), input(0, &signed)));
            out.push((format!("unsigned-{what}"), input(0, &bytes)));
            // Key 0 ("rha-key", 1-byte secret), a 32-byte request MAC, no
            // skew, bytes flipped by xor 0x01.
            out.push((
                format!("sign-{what}"),
                input(1, &[[0, 32, 128, 1].as_slice(), &bytes].concat()),
            ));
        }
        let other = TsigKey::new("rha-key", b"another secret".to_vec()).expect("a valid key");
        let bytes = answers()[0].1.encode();
        let by_other = tsig_sign_answer(&other, &bytes, &FIXED_REQUEST_MAC, SIGNED_AT);
        out.push(("signed-by-another-secret".into(), input(0, &by_other)));
        let late = tsig_sign_answer(&key, &bytes, &FIXED_REQUEST_MAC, SIGNED_AT + 301);
        out.push(("signed-too-late".into(), input(0, &late)));
        // The signed request itself is no answer to it.
        let (request, _) = tsig_sign_request(&key, &update().encode(), SIGNED_AT);
        out.push(("signed-request".into(), input(0, &request)));
        out.push((
            "sign-long-key-skewed".into(),
            input(1, &[[255, 64, 250, 0x80].as_slice(), &bytes].concat()),
        ));

        // Mode 2: the TSIG data of a signed empty answer (what mode 2
        // wraps), a server's BADKEY error, and cut short.
        let empty = [0x42, 0x42, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        let rdata = rdata_of(&tsig_sign_answer(
            &key,
            &empty,
            &FIXED_REQUEST_MAC,
            SIGNED_AT,
        ));
        out.push(("rdata-signed-empty-answer".into(), input(2, &rdata)));
        let mut badkey = Vec::new();
        wire_name(&name("hmac-sha256"), &mut badkey);
        badkey.extend_from_slice(&SIGNED_AT.to_be_bytes()[2..]);
        badkey.extend_from_slice(&300u16.to_be_bytes());
        badkey.extend_from_slice(&0u16.to_be_bytes()); // no MAC
        badkey.extend_from_slice(&0x4242u16.to_be_bytes());
        badkey.extend_from_slice(&17u16.to_be_bytes()); // BADKEY
        badkey.extend_from_slice(&0u16.to_be_bytes());
        out.push(("rdata-badkey".into(), input(2, &badkey)));
        out.push(("rdata-cut".into(), input(2, &rdata[..rdata.len() - 3])));
        out
    }
}
