//! TSIG (RFC 8945) with HMAC-SHA256: signs dynamic updates and checks the
//! server's signed answers.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::dns_wire::{Class, Message, Name, RData, RecordType, HEADER_LEN};

type HmacSha256 = Hmac<Sha256>;

/// Seconds of clock difference tolerated between us and the server.
pub(crate) const FUDGE: u16 = 300;

/// The algorithm name of HMAC-SHA256 (RFC 8945 §6).
const ALGORITHM: &str = "hmac-sha256";

/// A TSIG key shared with the DNS server: its name and secret, for
/// HMAC-SHA256.
///
/// ```
/// use rha_capture::redirect::TsigKey;
///
/// // As in a server's configuration: `secret: c2VjcmV0LWtleS1mb3ItcmhhIQ==`
/// let key = TsigKey::from_base64("rha-key", "c2VjcmV0LWtleS1mb3ItcmhhIQ==")?;
/// assert_eq!(key.name().to_string(), "rha-key");
/// # Ok::<(), rha_capture::redirect::RedirectError>(())
/// ```
#[derive(Clone)]
pub struct TsigKey {
    name: Name,
    secret: Vec<u8>,
}

impl fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TsigKey")
            .field("name", &self.name)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl TsigKey {
    /// A key named `name` with the raw `secret`.
    ///
    /// # Errors
    ///
    /// [`RedirectError::InvalidName`](super::RedirectError::InvalidName) for
    /// a bad key name; [`InvalidParameters`](super::RedirectError::InvalidParameters)
    /// for an empty secret.
    pub fn new(name: &str, secret: Vec<u8>) -> Result<Self, super::RedirectError> {
        let key_name = Name::parse(name).map_err(|reason| super::RedirectError::InvalidName {
            name: name.to_owned(),
            reason,
        })?;
        if secret.is_empty() {
            return Err(super::RedirectError::InvalidParameters {
                step: format!("TSIG key {name}"),
                reason: "the secret is empty",
            });
        }
        Ok(Self {
            name: key_name,
            secret,
        })
    }

    /// A key whose secret is given in base64, as DNS server configurations
    /// and key files write it.
    ///
    /// # Errors
    ///
    /// As [`new`](Self::new), and
    /// [`InvalidParameters`](super::RedirectError::InvalidParameters) when
    /// the secret is not valid base64.
    pub fn from_base64(name: &str, secret: &str) -> Result<Self, super::RedirectError> {
        let secret =
            decode_base64(secret).ok_or_else(|| super::RedirectError::InvalidParameters {
                step: format!("TSIG key {name}"),
                reason: "the secret is not valid base64",
            })?;
        Self::new(name, secret)
    }

    /// The key's name.
    pub fn name(&self) -> &Name {
        &self.name
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length; this cannot fail.
        match HmacSha256::new_from_slice(&self.secret) {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC takes keys of any length"),
        }
    }

    /// Signs an encoded message: returns the message with the TSIG record
    /// appended (and the additional count raised) and the MAC, which the
    /// answer's signature covers.
    pub(crate) fn sign(&self, message: &[u8], time_signed: u64) -> (Vec<u8>, Vec<u8>) {
        self.sign_after(None, message, time_signed)
    }

    /// Signs an encoded answer to a request whose MAC was `request_mac`,
    /// as a server does (RFC 8945 §5.3): what [`verify`](Self::verify)
    /// checks.
    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn sign_answer(
        &self,
        answer: &[u8],
        request_mac: &[u8],
        time_signed: u64,
    ) -> Vec<u8> {
        self.sign_after(Some(request_mac), answer, time_signed).0
    }

    /// Signs `message`; an answer's signature also covers the MAC of the
    /// request it answers (`request_mac`).
    fn sign_after(
        &self,
        request_mac: Option<&[u8]>,
        message: &[u8],
        time_signed: u64,
    ) -> (Vec<u8>, Vec<u8>) {
        let algorithm = algorithm();
        let mut mac = self.mac();
        if let Some(request_mac) = request_mac {
            mac.update(&(request_mac.len() as u16).to_be_bytes());
            mac.update(request_mac);
        }
        mac.update(message);
        mac.update(&self.variables(&algorithm, time_signed, 0, &[]));
        let digest = mac.finalize().into_bytes().to_vec();

        let mut signed = message.to_vec();
        if signed.len() >= HEADER_LEN {
            let count = u16::from_be_bytes([signed[10], signed[11]]).saturating_add(1);
            signed[10..12].copy_from_slice(&count.to_be_bytes());
        }
        let mut rdata = Vec::new();
        algorithm.encode(&mut rdata);
        rdata.extend_from_slice(&time_signed.to_be_bytes()[2..]);
        rdata.extend_from_slice(&FUDGE.to_be_bytes());
        rdata.extend_from_slice(&(digest.len() as u16).to_be_bytes());
        rdata.extend_from_slice(&digest);
        rdata.extend_from_slice(message.get(..2).unwrap_or(&[0, 0])); // original ID
        rdata.extend_from_slice(&[0, 0, 0, 0]); // error, other length
        self.name.encode(&mut signed);
        signed.extend_from_slice(&RecordType::TSIG.0.to_be_bytes());
        signed.extend_from_slice(&255u16.to_be_bytes()); // class ANY
        signed.extend_from_slice(&0u32.to_be_bytes()); // TTL
        signed.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        signed.extend_from_slice(&rdata);
        (signed, digest)
    }

    /// The TSIG variables (RFC 8945 §4.3.3) for a given time and error.
    fn variables(&self, algorithm: &Name, time: u64, error: u16, other: &[u8]) -> Vec<u8> {
        let mut v = Vec::new();
        self.name.encode(&mut v);
        v.extend_from_slice(&255u16.to_be_bytes());
        v.extend_from_slice(&0u32.to_be_bytes());
        algorithm.encode(&mut v);
        v.extend_from_slice(&time.to_be_bytes()[2..]);
        v.extend_from_slice(&FUDGE.to_be_bytes());
        v.extend_from_slice(&error.to_be_bytes());
        v.extend_from_slice(&(other.len() as u16).to_be_bytes());
        v.extend_from_slice(other);
        v
    }

    /// Checks the signature of an answer to a request signed with
    /// `request_mac`, at time `now` (seconds since the epoch).
    pub(crate) fn verify(&self, answer: &[u8], request_mac: &[u8], now: u64) -> Result<(), String> {
        let (message, start) = Message::decode_with_last_record(answer)
            .map_err(|e| format!("undecodable answer: {e}"))?;
        let (Some(record), Some(start)) = (message.additional.last(), start) else {
            return Err(format!("the answer ({}) is not signed", message.rcode));
        };
        if record.rtype != RecordType::TSIG {
            return Err(format!("the answer ({}) is not signed", message.rcode));
        }
        // The MAC covers class ANY and TTL 0, not the record's own fields
        // (RFC 8945 §4.3.3), so they are checked here: a record that says
        // otherwise was altered.
        if record.class != Class::ANY || record.ttl != 0 {
            return Err(format!(
                "malformed TSIG record (class {}, TTL {}; must be ANY and 0)",
                record.class.0, record.ttl
            ));
        }
        let RData::Other(rdata) = &record.rdata else {
            return Err("empty TSIG record".to_owned());
        };
        let tsig = TsigRdata::parse(rdata).ok_or("malformed TSIG record")?;
        if tsig.error != 0 {
            return Err(format!(
                "the server rejected the signature: {} (answer {})",
                tsig_error(tsig.error),
                message.rcode
            ));
        }
        if record.name != self.name || tsig.algorithm != algorithm() {
            return Err(format!(
                "the answer is signed with key {} ({}), not {} ({ALGORITHM})",
                record.name, tsig.algorithm, self.name
            ));
        }
        // The signed data: the request's MAC, the answer as it was before
        // the TSIG record was added (original ID, one record fewer), and
        // the variables.
        let mut unsigned = answer[..start].to_vec();
        unsigned[..2].copy_from_slice(&tsig.original_id.to_be_bytes());
        let count = u16::from_be_bytes([unsigned[10], unsigned[11]]).saturating_sub(1);
        unsigned[10..12].copy_from_slice(&count.to_be_bytes());
        let mut mac = self.mac();
        mac.update(&(request_mac.len() as u16).to_be_bytes());
        mac.update(request_mac);
        mac.update(&unsigned);
        let mut variables = Vec::new();
        record.name.encode(&mut variables);
        variables.extend_from_slice(&255u16.to_be_bytes());
        variables.extend_from_slice(&0u32.to_be_bytes());
        tsig.algorithm.encode(&mut variables);
        variables.extend_from_slice(&tsig.time.to_be_bytes()[2..]);
        variables.extend_from_slice(&tsig.fudge.to_be_bytes());
        variables.extend_from_slice(&tsig.error.to_be_bytes());
        variables.extend_from_slice(&(tsig.other.len() as u16).to_be_bytes());
        variables.extend_from_slice(&tsig.other);
        mac.update(&variables);
        mac.verify_slice(&tsig.mac)
            .map_err(|_| "the answer's signature does not verify".to_owned())?;
        if now.abs_diff(tsig.time) > u64::from(tsig.fudge) {
            return Err(format!(
                "the answer was signed at {} but it is {now} (fudge {} s)",
                tsig.time, tsig.fudge
            ));
        }
        Ok(())
    }
}

fn algorithm() -> Name {
    match Name::parse(ALGORITHM) {
        Ok(n) => n,
        Err(_) => unreachable!("the algorithm name is valid"),
    }
}

/// Seconds since the epoch, for signing.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn tsig_error(code: u16) -> String {
    match code {
        16 => "BADSIG (the signature does not verify: wrong secret?)".to_owned(),
        17 => "BADKEY (the server does not know the key or algorithm)".to_owned(),
        18 => "BADTIME (the clocks differ by more than the fudge)".to_owned(),
        22 => "BADTRUNC".to_owned(),
        n => format!("TSIG error {n}"),
    }
}

/// The fields of a TSIG record's data.
struct TsigRdata {
    algorithm: Name,
    time: u64,
    fudge: u16,
    mac: Vec<u8>,
    original_id: u16,
    error: u16,
    other: Vec<u8>,
}

impl TsigRdata {
    fn parse(data: &[u8]) -> Option<Self> {
        // The algorithm name is never compressed.
        let mut labels = Vec::new();
        let mut at = 0;
        loop {
            let len = usize::from(*data.get(at)?);
            at += 1;
            if len == 0 {
                break;
            }
            if len > 63 {
                return None;
            }
            labels.push(data.get(at..at + len)?.to_vec());
            at += len;
        }
        let algorithm = Name::from_labels(labels)?;
        let field = |at: usize, n: usize| data.get(at..at + n);
        let mut time = [0u8; 8];
        time[2..].copy_from_slice(field(at, 6)?);
        let u16_at = |at: usize| field(at, 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
        let fudge = u16_at(at + 6)?;
        let mac_len = usize::from(u16_at(at + 8)?);
        let mac = field(at + 10, mac_len)?.to_vec();
        let at = at + 10 + mac_len;
        let original_id = u16_at(at)?;
        let error = u16_at(at + 2)?;
        let other_len = usize::from(u16_at(at + 4)?);
        let other = field(at + 6, other_len)?.to_vec();
        if at + 6 + other_len != data.len() {
            return None;
        }
        Some(Self {
            algorithm,
            time: u64::from_be_bytes(time),
            fudge,
            mac,
            original_id,
            error,
            other,
        })
    }
}

/// Decodes standard base64 (RFC 4648 §4, padding optional, whitespace
/// ignored); `None` for anything else.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    let mut padding = 0;
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            _ => return None,
        };
        if padding > 0 {
            return None; // data after padding
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero padding bits of a partial group.
    (bits < 6 && acc == 0 && padding <= 2).then_some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn base64() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVsbG8").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVs bG8h\n").unwrap(), b"hello!");
        assert_eq!(decode_base64("").unwrap(), b"");
        assert!(decode_base64("aGVsbG8*").is_none());
        assert!(decode_base64("aG=Vs").is_none());
        assert!(decode_base64("aGVsbG9").is_none()); // non-zero leftover bits
    }

    /// A signed answer made the way a server makes it verifies; any change
    /// to it does not.
    #[test]
    fn sign_and_verify_round_trip() {
        let key = TsigKey::new("rha-key", b"0123456789abcdef".to_vec()).unwrap();
        let request = Message::query(
            0x4242,
            Name::parse("example.test").unwrap(),
            RecordType::SOA,
        );
        let (signed, request_mac) = key.sign(&request.encode(), 1_000_000);
        let decoded = Message::decode(&signed).unwrap();
        assert_eq!(decoded.additional.len(), 1);
        assert_eq!(decoded.additional[0].rtype, RecordType::TSIG);
        assert_eq!(request_mac.len(), 32);

        // The "server" answers, signing the answer over the request MAC.
        let mut answer = request.clone();
        answer.response = true;
        let bytes = answer.encode();
        let alg = algorithm();
        let mut mac = key.mac();
        mac.update(&(request_mac.len() as u16).to_be_bytes());
        mac.update(&request_mac);
        mac.update(&bytes);
        mac.update(&key.variables(&alg, 1_000_010, 0, &[]));
        let answer_mac = mac.finalize().into_bytes().to_vec();
        let mut rdata = Vec::new();
        alg.encode(&mut rdata);
        rdata.extend_from_slice(&1_000_010u64.to_be_bytes()[2..]);
        rdata.extend_from_slice(&FUDGE.to_be_bytes());
        rdata.extend_from_slice(&32u16.to_be_bytes());
        rdata.extend_from_slice(&answer_mac);
        rdata.extend_from_slice(&0x4242u16.to_be_bytes());
        rdata.extend_from_slice(&[0, 0, 0, 0]);
        answer.additional.push(super::super::dns_wire::Record {
            name: key.name().clone(),
            rtype: RecordType::TSIG,
            class: Class::ANY,
            ttl: 0,
            rdata: RData::Other(rdata),
        });
        let signed_answer = answer.encode();
        // The tests' and fuzzers' server signs the same way.
        assert_eq!(
            key.sign_answer(&bytes, &request_mac, 1_000_010),
            signed_answer
        );
        assert_eq!(key.verify(&signed_answer, &request_mac, 1_000_000), Ok(()));

        // Too late.
        assert!(key
            .verify(&signed_answer, &request_mac, 1_000_400)
            .unwrap_err()
            .contains("fudge"));
        // Wrong key.
        let other = TsigKey::new("rha-key", b"another secret".to_vec()).unwrap();
        assert!(other
            .verify(&signed_answer, &request_mac, 1_000_000)
            .unwrap_err()
            .contains("does not verify"));
        // A flipped bit in the answer.
        let mut tampered = signed_answer.clone();
        tampered[3] ^= 1;
        assert!(key.verify(&tampered, &request_mac, 1_000_000).is_err());
        // Unsigned.
        assert!(key
            .verify(&bytes, &request_mac, 1_000_000)
            .unwrap_err()
            .contains("not signed"));
    }

    /// The signature does not cover the TSIG record's class and TTL (the
    /// MAC is over ANY and 0), so a change to them must be caught apart:
    /// the fuzzer's first find (`tsig_verify`, any single changed byte).
    #[test]
    fn a_tsig_record_of_another_class_or_ttl_is_refused() {
        let key = TsigKey::new("rha-key", b"0123456789abcdef".to_vec()).unwrap();
        let mut answer = Message::query(7, Name::parse("example.test").unwrap(), RecordType::SOA);
        answer.response = true;
        let signed = key.sign_answer(&answer.encode(), &[1; 32], 1_000_000);
        assert_eq!(key.verify(&signed, &[1; 32], 1_000_000), Ok(()));
        // Class then TTL follow the TSIG record's name and type.
        let class_at = answer.encode().len() + key.name.wire_len() + 2;
        for (at, xor) in [(class_at + 1, 1), (class_at + 2, 0x80), (class_at + 5, 1)] {
            let mut tampered = signed.clone();
            tampered[at] ^= xor;
            let e = key.verify(&tampered, &[1; 32], 1_000_000).unwrap_err();
            assert!(e.contains("malformed TSIG record"), "byte {at}: {e}");
        }
    }
}
